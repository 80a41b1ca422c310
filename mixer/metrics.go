package mixer

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a received datagram is dropped, the label of
// bridge_mixer_packets_dropped_total.
const (
	dropMalformed   = "malformed"    // not RTP version 2, truncated, bad padding
	dropSource      = "source"       // not from the latched address
	dropPayloadType = "payload_type" // neither the codec's nor telephone-event's
	dropEmpty       = "empty"        // no payload
	dropOversized   = "oversized"    // longer than any codec packet
	dropDuplicate   = "duplicate"
	dropJump        = "jump" // absurd sequence jump
	dropDecode      = "decode"
	dropRTCP        = "rtcp"       // unparsable RTCP
	dropInboxFull   = "inbox_full" // a packet leg's owner delivered more than a tick holds
	dropSRTP        = "srtp_auth"  // SRTP/SRTCP that failed authentication (or replayed)
)

var dropReasons = [...]string{dropMalformed, dropSource, dropPayloadType, dropEmpty, dropOversized, dropDuplicate, dropJump, dropDecode, dropRTCP, dropInboxFull, dropSRTP}

type metrics struct {
	received    prometheus.Counter
	sent        prometheus.Counter
	lost        prometheus.Counter
	late        prometheus.Counter
	tsJumps     prometheus.Counter
	dropped     map[string]prometheus.Counter
	jitter      prometheus.Histogram
	lateTicks   prometheus.Counter
	tickTime    prometheus.Histogram
	legs        prometheus.Gauge
	rooms       prometheus.Gauge
	sharedPorts prometheus.Gauge
	roomLegs    prometheus.Histogram
	events      [len(eventNames)]prometheus.Counter // by EventKind
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_mixer_packets_received_total", Help: "RTP packets accepted from legs."}),
		sent:     prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_mixer_packets_sent_total", Help: "RTP packets sent to legs."}),
		lost:     prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_mixer_packets_lost_total", Help: "RTP packets found missing at playout."}),
		late:     prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_mixer_packets_late_total", Help: "RTP packets that arrived after their playout time."}),
		tsJumps:  prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_mixer_timestamp_jumps_total", Help: "RTP timestamp jumps seen (played on, not dropped)."}),
		jitter: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bridge_mixer_jitter_seconds", Help: "RFC 3550 interarrival jitter of legs, sampled every 5 s per leg.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32}}),
		lateTicks: prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_mixer_late_ticks_total", Help: "Room mix ticks that started more than 5 ms late."}),
		tickTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bridge_mixer_tick_seconds", Help: "CPU time of one room's 20 ms tick.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 8)}),
		legs:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "bridge_mixer_legs", Help: "Legs in all rooms."}),
		rooms:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "bridge_mixer_rooms", Help: "Rooms with at least one leg."}),
		sharedPorts: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bridge_mixer_shared_ports", Help: "RTP/RTCP port pairs shared by several legs of a room (legs with a pair of their own are not counted)."}),
		roomLegs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bridge_mixer_room_legs", Help: "Legs per room, sampled every 5 s per room.",
			Buckets: []float64{1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000}}),
		dropped: make(map[string]prometheus.Counter),
	}
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_mixer_packets_dropped_total", Help: "Datagrams dropped on receive, by reason."}, []string{"reason"})
	for _, r := range dropReasons {
		m.dropped[r] = dropped.WithLabelValues(r)
	}
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_mixer_events_total", Help: "Events reported to the mixer's owner, by kind."}, []string{"kind"})
	for k := 1; k < len(m.events); k++ {
		m.events[k] = events.WithLabelValues(EventKind(k).String())
	}
	for _, c := range []prometheus.Collector{m.received, m.sent, m.lost, m.late, m.tsJumps, dropped, m.jitter, m.lateTicks, m.tickTime, m.legs, m.rooms, m.sharedPorts, m.roomLegs, events} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("mixer: metrics already registered (one Mixer per registry): %w", err)
			}
			return nil, fmt.Errorf("mixer: registering metrics: %w", err)
		}
	}
	return m, nil
}
