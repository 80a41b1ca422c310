package sync

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	// moderation is the time from the moderation stanza's arrival at the
	// chat component to its effect being applied on the audio face (the
	// mixer mute or the BYE sent), by action.
	moderation *prometheus.HistogramVec
	bindings   *prometheus.CounterVec
	refused    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		moderation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bridge_sync_moderation_seconds",
			Help:    "Time from a MUC moderation stanza reaching the component to its effect on the audio (mute in the mixer, BYE sent).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"action"}),
		bindings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_sync_bindings_total",
			Help: "Admitted calls by how they were bound to an occupant (token, hint, directory, none).",
		}, []string{"method"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_sync_refused_total",
			Help: "Calls refused by the chat room's rules, by reason.",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.moderation, m.bindings, m.refused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
