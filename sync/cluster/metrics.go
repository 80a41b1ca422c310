package cluster

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	redirects   prometheus.Counter
	placed      *prometheus.CounterVec
	refused     *prometheus.CounterVec
	lost        prometheus.Counter
	storeErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, c *Cluster) (*metrics, error) {
	m := &metrics{
		redirects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_cluster_redirects_total",
			Help: "Calls sent to the node that owns their room.",
		}),
		placed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_cluster_placements_total",
			Help: "Rooms this node placed, on itself (here) or on another node (elsewhere).",
		}, []string{"where"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_cluster_unavailable_total",
			Help: "Calls refused with 503 because no node could take their room right now, by reason.",
		}, []string{"why"}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_cluster_rooms_lost_total",
			Help: "Rooms another node took over while this node could not renew their lease.",
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_cluster_store_errors_total",
			Help: "Failed exchanges with the store (leases, registry).",
		}),
	}
	owned := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridge_cluster_rooms_owned",
		Help: "Rooms whose audio this node mixes, under a lease.",
	}, func() float64 { return float64(len(c.Owned())) })
	for _, col := range []prometheus.Collector{m.redirects, m.placed, m.refused, m.lost, m.storeErrors, owned} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("cluster: registering metrics: %w", err)
		}
	}
	return m, nil
}
