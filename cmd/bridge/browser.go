package main

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/internal/browserwire"
	"cusax.dev/bridge/mixer"
	bsync "cusax.dev/bridge/sync"
	"cusax.dev/bridge/web/join"
)

// newJoinServer builds browser join (web/join) when --web-listen is set.
// Its gate is sync, reached through the pointer once sync is built.
// full says whether the node is at --max-calls, which browsers count
// against as phones do.
func newJoinServer(cfg Config, mix *mixer.Mixer, sy *atomic.Pointer[bsync.Sync], full func() (focus.Admission, bool), log *slog.Logger, reg prometheus.Registerer) (*join.Server, error) {
	srv, err := join.New(join.Config{
		Listen:     cfg.Web.Listen,
		CertFile:   cfg.Web.Cert,
		KeyFile:    cfg.Web.Key,
		PublicURL:  cfg.Web.PublicURL,
		RTPAddress: cfg.RTPAddress,
		UDPPort:    cfg.Web.MediaPort,
		PortMin:    cfg.RTPPorts.Low,
		PortMax:    cfg.RTPPorts.High,
		NATIP:      cfg.Web.NATIP,
		ICEServers: cfg.Web.ICEServers,
		Media:      mix,
		Gate:       browserwire.NewGate(sy, full),
		Logger:     log,
		Metrics:    reg,
	})
	if err != nil {
		return nil, fmt.Errorf("browser join: %w", err)
	}
	return srv, nil
}
