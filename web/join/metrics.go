package join

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	legs      prometheus.Gauge
	connected prometheus.Counter
	refused   *prometheus.CounterVec
	ended     *prometheus.CounterVec
	setup     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		legs:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "bridge_browser_legs", Help: "Browser legs admitted and not yet ended."}),
		connected: prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_browser_joins_total", Help: "Browser legs whose media connected."}),
		refused:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_browser_refused_total", Help: "Browser joins refused, by reason."}, []string{"reason"}),
		ended:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_browser_ended_total", Help: "Browser legs ended, by RFC 4575 disconnection-method."}, []string{"how"}),
		setup: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bridge_browser_setup_seconds", Help: "From the offer to connected media.",
			Buckets: []float64{0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10}}),
	}
	for _, c := range []prometheus.Collector{m.legs, m.connected, m.refused, m.ended, m.setup} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("join: metrics already registered (one Server per registry): %w", err)
			}
			return nil, fmt.Errorf("join: registering metrics: %w", err)
		}
	}
	return m, nil
}
