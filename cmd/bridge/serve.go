package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"cusax.dev/bridge/web"
)

// serve builds every part of the bridge from cfg and runs them until ctx ends.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	settingsAttrs := make([]any, 0, 2*len(settings))
	for _, kv := range effectiveSettings(cfg) {
		settingsAttrs = append(settingsAttrs, kv[0], kv[1])
	}
	log.Info("starting CUSAX Bridge", append([]any{"version", version}, settingsAttrs...)...)
	if !cfg.ChatEnabled() {
		log.Warn("chat face is OFF: --xmpp-secret (BRIDGE_XMPP_SECRET) is empty, so no XMPP component link and no chat rooms; only the SIP audio face runs")
	}

	registry := newRegistry()
	lc := &lifecycle{log: log, grace: cfg.ShutdownTimeout}

	var checks []web.ReadinessCheck
	ops, err := web.NewOps(web.OpsConfig{
		Listen:   cfg.HTTPListen,
		Gatherer: registry,
		Checks:   checks,
		Logger:   log.With("part", "ops"),
	})
	if err != nil {
		return err
	}
	lc.addService("ops HTTP server", ops.Serve)
	return lc.run(ctx)
}

// newRegistry is the one metrics registry of the process: Go runtime and
// process metrics now; each part registers its own as it is built.
func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "bridge_build_info",
			Help:        "Always 1; the labels tell which build runs.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
	)
	return r
}
