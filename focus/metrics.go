package focus

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the focus's Prometheus series, registered on Config.Metrics.
type metrics struct {
	calls         *prometheus.CounterVec // by outcome: answered, moved (302 to the owner node), proxied (forwarded to it), or the SIP status of a refusal
	dialogs       prometheus.Gauge
	subscriptions prometheus.Gauge
	notifies      *prometheus.CounterVec // by result: ok, failed
	malformed     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_focus_calls_total",
			Help: "Incoming and outgoing calls by outcome (answered, moved to the room's owner node by a 302, proxied to it with its final answer relayed, or the SIP status that refused them).",
		}, []string{"outcome"}),
		dialogs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bridge_focus_dialogs_active",
			Help: "Call legs the focus holds, ringing or connected.",
		}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bridge_focus_subscriptions_active",
			Help: "Active conference event package subscriptions (RFC 4575).",
		}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_focus_notifies_total",
			Help: "Conference NOTIFYs sent, by result.",
		}, []string{"result"}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_focus_malformed_requests_total",
			Help: "Unparseable SIP requests answered 400.",
		}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.dialogs, m.subscriptions, m.notifies, m.malformed} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("focus: registering metrics: %w", err)
		}
	}
	return m, nil
}
