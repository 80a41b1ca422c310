package cluster_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/store/bolt/bolttest"
	"cusax.dev/bridge/sync/cluster"
)

// metricValue sums the samples of the named metric whose labels include
// want, from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// TestMetrics: the bridge_cluster_* metrics land in the registerer given
// in Config and follow placements and refusals.
func TestMetrics(t *testing.T) {
	st := bolttest.Open(t)
	reg := prometheus.NewRegistry()
	c, err := cluster.New(cluster.Config{Store: st, NodeID: "a", SIPURI: "sip:127.0.0.1:5060", LeaseTTL: time.Minute, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, room := range []string{"r1", "r2"} {
		if r := c.Route(t.Context(), room); !r.Here {
			t.Fatalf("Route(%s) = %+v, want Here", room, r)
		}
	}
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := c.Route(t.Context(), "r3"); r.RetryAfter <= 0 {
		t.Fatalf("Route with every node draining = %+v, want a Retry-After", r)
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"bridge_cluster_placements_total", map[string]string{"where": "here"}, 2},
		{"bridge_cluster_placements_total", map[string]string{"where": "elsewhere"}, 0},
		{"bridge_cluster_rooms_owned", nil, 2},
		{"bridge_cluster_unavailable_total", nil, 1},
		{"bridge_cluster_redirects_total", nil, 0},
	}
	for _, ch := range checks {
		if got := metricValue(t, reg, ch.name, ch.labels); got != ch.want {
			t.Errorf("%s%v = %v, want %v", ch.name, ch.labels, got, ch.want)
		}
	}
	// A second Cluster on the same registry is a configuration error, not
	// a panic.
	if _, err := cluster.New(cluster.Config{Store: st, NodeID: "b", SIPURI: "sip:127.0.0.1:5062", Metrics: reg}); err == nil {
		t.Fatal("New registered the same metrics twice without an error")
	}
}
