package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/mixer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt"
	storeredis "cusax.dev/bridge/store/redis"
	bsync "cusax.dev/bridge/sync"
	"cusax.dev/bridge/web"
)

// storeFileName is the embedded store's file inside --data-dir.
const storeFileName = "bridge.db"

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

	st, storeReady, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	checks = append(checks, web.ReadinessCheck{Name: "store", Ready: storeReady})
	// The store closes last, after every part that writes to it has stopped.
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()

	// The parts call each other through callbacks, and each is built before
	// the one it calls: the links are set once all are built, before any
	// of them runs, and read through atomics so the order is plain to see.
	var links struct {
		focus atomic.Pointer[focus.Focus]
		sync  atomic.Pointer[bsync.Sync]
	}
	mix, err := mixer.New(mixer.Config{
		BindAddr: cfg.SIPListen.Addr(),
		PortMin:  cfg.RTPPorts.Low,
		PortMax:  cfg.RTPPorts.High,
		OnEvent: func(ev mixer.Event) {
			if f := links.focus.Load(); f != nil {
				f.MixerEvents()(ev)
			}
			if s := links.sync.Load(); s != nil && ev.Kind == mixer.EventTalking {
				s.Talking(ev.LegID, ev.Talking)
			}
		},
		Logger:  log.With("part", "mixer"),
		Metrics: registry,
	})
	if err != nil {
		return err
	}
	lc.addService("mixer", mix.Serve)
	checks = append(checks, web.ReadinessCheck{Name: "rtp mixer", Ready: mix.Ready})

	focusCfg := focus.Config{
		Listen:     cfg.SIPListen.String(),
		TLSListen:  addrOrEmpty(cfg.SIPTLSListen),
		TLSCert:    cfg.SIPCert,
		TLSKey:     cfg.SIPKey,
		Domain:     cfg.SIPDomain,
		RTPAddress: cfg.RTPAddress,
		Media:      focus.NewMixerMedia(mix),
		Logger:     log.With("part", "focus"),
		Metrics:    registry,
	}
	if cfg.ChatEnabled() {
		// Every call is admitted, bound and watched by sync, which applies
		// the chat room's moderation to it.
		focusCfg.ChatDomain = cfg.XMPPDomain
		focusCfg.Admit = func(ctx context.Context, call focus.CallFacts) focus.Admission {
			return links.sync.Load().Admit(ctx, call)
		}
		focusCfg.OnEvent = func(ev focus.Event) { links.sync.Load().OnFocusEvent(ev) }
	}
	foc, err := focus.New(focusCfg)
	if err != nil {
		return err
	}
	links.focus.Store(foc)
	lc.addService("SIP focus", foc.Serve)
	lc.onShutdown("hang up calls", foc.Shutdown)
	checks = append(checks, web.ReadinessCheck{Name: "sip", Ready: foc.Ready})

	if cfg.ChatEnabled() {
		chatCfg := muc.Config{
			ComponentAddr: cfg.XMPPComponent,
			Domain:        cfg.XMPPDomain,
			Secret:        cfg.XMPPSecret,
			SIPDomain:     cfg.SIPDomain,
			Store:         st,
			OnEvent:       func(ev muc.Event) { links.sync.Load().OnChatEvent(ev) },
			Logger:        log.With("part", "muc"),
			Registerer:    registry,
		}
		if cfg.RedisURL != "" {
			// Nodes sharing Redis share the component domain: one holds
			// the link under a lease, the others stand by.
			chatCfg.Leases, chatCfg.NodeID = st, cfg.NodeID
		}
		chat, err := muc.New(chatCfg)
		if err != nil {
			return err
		}
		lc.addService("XMPP chat component", chat.Serve)
		lc.onShutdown("tell chat occupants", chat.Shutdown)
		// A node standing by for the link is ready too: it takes calls.
		linkReady := func() bool { return chat.Ready() || chat.Standby() }
		checks = append(checks, web.ReadinessCheck{Name: "xmpp component link", Ready: linkReady})

		sy, err := bsync.New(bsync.Config{
			Audio:          foc,
			Chat:           chat,
			VCards:         chat,
			SIPDomain:      cfg.SIPDomain,
			ChatDomain:     cfg.XMPPDomain,
			Directory:      cfg.Directory,
			Tokens:         st,
			TokenTTL:       cfg.JoinTokenTTL,
			AnnounceTokens: cfg.AnnounceDialIn,
			Logger:         log.With("part", "sync"),
			Registerer:     registry,
		})
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		links.sync.Store(sy)
		lc.addService("sync", sy.Serve)
		checks = append(checks, web.ReadinessCheck{Name: "sync", Ready: sy.Ready})
	}

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

// openStore opens Redis when --redis-url is set and the embedded store in
// --data-dir otherwise. The readiness function pings Redis; the embedded
// store is ready once open.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (store.Store, func() bool, error) {
	if cfg.RedisURL == "" {
		st, err := bolt.Open(bolt.Config{Path: filepath.Join(cfg.DataDir, storeFileName)})
		if err != nil {
			return nil, nil, fmt.Errorf("opening the embedded store in %s: %w", cfg.DataDir, err)
		}
		return st, func() bool { return true }, nil
	}
	storeLog := log.With("part", "store")
	// go-redis logs through one process-wide logger; only main may set it.
	goredis.SetLogger(storeredis.GoRedisLogger{L: storeLog})
	st, err := storeredis.Open(ctx, storeredis.Config{URL: cfg.RedisURL, Logger: storeLog})
	if err != nil {
		return nil, nil, fmt.Errorf("opening the Redis store at %s: %w", redactURL(cfg.RedisURL), err)
	}
	log.Warn("Redis store in use: rooms, affiliations and bans are shared, but room ownership and component-link failover across nodes are not wired yet; run one node per component domain")
	ready := func() bool {
		pingCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return st.Ping(pingCtx) == nil
	}
	return st, ready, nil
}

// newRegistry is the one metrics registry of the process: Go runtime and
// process metrics, and each part's own metrics as it is built.
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
