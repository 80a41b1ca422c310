package muc

import "github.com/prometheus/client_golang/prometheus"

// metrics are the bridge_muc_* series: what an operator watches to see the
// chat face is alive (link up, reconnects) and how busy it is.
type metrics struct {
	rooms       prometheus.Gauge
	occupants   *prometheus.GaugeVec
	stanzasIn   *prometheus.CounterVec
	stanzasOut  *prometheus.CounterVec
	errors      *prometheus.CounterVec
	reconnects  prometheus.Counter
	linkUp      prometheus.Gauge
	dropped     prometheus.Counter
	eventsQueue prometheus.Gauge

	multicastStanzas prometheus.Counter
	multicastCopies  prometheus.Counter
	multicastRefused prometheus.Counter
	// Recipient lists (multicast.go): stanzas that named a stored list
	// instead of carrying addresses, and those the server no longer had.
	multicastListStanzas prometheus.Counter
	multicastListMisses  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bridge_muc_rooms", Help: "Chat rooms that exist (persistent or occupied).",
		}),
		occupants: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bridge_muc_occupants", Help: "Occupants in all rooms, by kind (xmpp or audio).",
		}, []string{"kind"}),
		stanzasIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_muc_stanzas_in_total", Help: "Stanzas received on the component link, by element.",
		}, []string{"kind"}),
		stanzasOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_muc_stanzas_out_total", Help: "Stanzas written to the component link, by element.",
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_muc_stanza_errors_total", Help: "Stanza errors returned to senders, by condition.",
		}, []string{"condition"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_muc_reconnects_total", Help: "Component link attempts after the first.",
		}),
		linkUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bridge_muc_link_up", Help: "1 while the component link to the XMPP server is established.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_muc_stanzas_dropped_total", Help: "Outgoing stanzas discarded because the link was down.",
		}),
		eventsQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bridge_muc_events_queued", Help: "Room events waiting for the OnEvent consumer.",
		}),
		multicastStanzas: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_muc_multicast_stanzas_total", Help: "Groupchat multicast stanzas (XEP-0033 bcc) queued for the server to fan out.",
		}),
		multicastCopies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_muc_multicast_copies_total", Help: "Recipients carried by multicast stanzas (copies the server made for us).",
		}),
		multicastRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_muc_multicast_refused_total", Help: "Multicast stanzas the server answered with an error (the domain then gets copies one by one).",
		}),
		multicastListStanzas: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_muc_multicast_list_stanzas_total", Help: "Multicast stanzas that named a recipient list the server keeps instead of carrying the addresses.",
		}),
		multicastListMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_muc_multicast_list_misses_total", Help: "Multicast stanzas refused because the server no longer had their recipient list (resent as copies; the full list goes next time).",
		}),
	}
	for _, c := range []prometheus.Collector{m.rooms, m.occupants, m.stanzasIn, m.stanzasOut, m.errors, m.reconnects, m.linkUp, m.dropped, m.eventsQueue, m.multicastStanzas, m.multicastCopies, m.multicastRefused, m.multicastListStanzas, m.multicastListMisses} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
