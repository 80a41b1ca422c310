package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/internal/browserwire"
	"cusax.dev/bridge/mixer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt"
	storeredis "cusax.dev/bridge/store/redis"
	bsync "cusax.dev/bridge/sync"
	"cusax.dev/bridge/sync/cluster"
	"cusax.dev/bridge/web"
	"cusax.dev/bridge/web/join"
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
	if cfg.RealtimePrio > 0 {
		n, err := setRealtime(cfg.RealtimePrio)
		if err != nil {
			return fmt.Errorf("--%s %d: %w", keyRealtimePrio, cfg.RealtimePrio, err)
		}
		log.Info("real-time scheduling on", "policy", "SCHED_RR", "priority", cfg.RealtimePrio, "threads", n)
	}
	if cfg.Web.Enabled() && !cfg.ChatEnabled() {
		log.Warn("browser join is OFF: it admits people by the chat room's rules, and the chat face is off (--xmpp-secret is empty)")
	}
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
	// Among many nodes a Redis outage leaves a node serving the rooms it
	// owns: it stays in its load balancer, and /readyz says what is down.
	checks = append(checks, web.ReadinessCheck{Name: "store", Ready: storeReady, Advisory: cfg.RedisURL != ""})
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
		web   atomic.Pointer[join.Server]
	}
	// calls counts a room's (or the node's) phone and browser legs: what
	// --max-calls, drain and room placement weigh.
	calls := func(room string) int {
		n := 0
		if f := links.focus.Load(); f != nil {
			n += len(f.Legs(room))
		}
		if w := links.web.Load(); w != nil {
			n += len(w.Legs(room))
		}
		return n
	}

	// Among many nodes (Redis), each room is mixed on one owner node.
	var cl *cluster.Cluster
	if rst, ok := st.(*storeredis.Store); ok {
		cl, err = cluster.New(cluster.Config{
			Store:    rst,
			NodeID:   cfg.NodeID,
			SIPURI:   "sip:" + cfg.SIPAdvertise,
			SIPSURI:  prefixed("sips:", cfg.SIPTLSAdvertise),
			WebURL:   cfg.Web.URL(),
			LeaseTTL: cfg.RoomLeaseTTL,
			Calls:    func() int { return calls("") },
			InUse:    func(room string) bool { return calls(room) > 0 },
			OnLost: func(room string) {
				if f := links.focus.Load(); f != nil {
					ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
					defer cancel()
					_ = f.CloseRoom(ctx, room, "the room moved to another node")
				}
			},
			Logger:  log.With("part", "cluster"),
			Metrics: registry,
		})
		if err != nil {
			return err
		}
		lc.addService("room ownership", cl.Serve)
		// Registered first so it runs last: leases go once calls are down.
		lc.onShutdown("release rooms", cl.Shutdown)
	}
	var draining atomic.Bool
	prompts, err := loadPrompts(cfg)
	if err != nil {
		return err
	}
	mix, err := mixer.New(mixer.Config{
		BindAddr:    cfg.SIPListen.Addr(),
		PortMin:     cfg.RTPPorts.Low,
		PortMax:     cfg.RTPPorts.High,
		LegsPerPort: cfg.RTPLegsPerPort,
		OnEvent: func(ev mixer.Event) {
			if f := links.focus.Load(); f != nil {
				f.MixerEvents()(ev)
			}
			if w := links.web.Load(); w != nil && ev.Kind == mixer.EventRTPTimeout {
				w.MediaTimeout(ev.LegID)
			}
			if s := links.sync.Load(); s != nil && ev.Kind == mixer.EventTalking {
				s.Talking(ev.LegID, ev.Talking)
			}
		},
		Prompts: prompts,
		Logger:  log.With("part", "mixer"),
		Metrics: registry,
	})
	if err != nil {
		return err
	}
	lc.addService("mixer", mix.Serve)
	checks = append(checks, web.ReadinessCheck{Name: "rtp mixer", Ready: mix.Ready})

	focusCfg := focus.Config{
		MediaEncryption: cfg.MediaEncryption,
		Listen:          cfg.SIPListen.String(),
		TLSListen:       addrOrEmpty(cfg.SIPTLSListen),
		TLSCert:         cfg.SIPCert,
		TLSKey:          cfg.SIPKey,
		Domain:          cfg.SIPDomain,
		RTPAddress:      cfg.RTPAddress,
		Media:           focus.NewMixerMedia(mix),
		Logger:          log.With("part", "focus"),
		Metrics:         registry,
	}
	focusCfg.InviteRate, focusCfg.InviteBurst = inviteLimit(cfg.InviteRate, cfg.InviteBurst)
	admit := func(ctx context.Context, call focus.CallFacts) focus.Admission {
		if draining.Load() && cl == nil && !call.DialOut {
			return focus.Admission{Verdict: focus.NodeFull, Reason: "Service Unavailable (draining)"}
		}
		if s := links.sync.Load(); s != nil {
			// Sync routes the call to its room's owner, binds it and
			// applies the chat room's moderation to it.
			return s.Admit(ctx, call)
		}
		if cl != nil {
			if adm, here := bsync.RouteCall(ctx, cl, call, cfg.ProxyCalls); !here {
				return adm
			}
		}
		return focus.Admission{Verdict: focus.Accept}
	}
	focusCfg.Admit = func(ctx context.Context, call focus.CallFacts) focus.Admission {
		adm := admit(ctx, call)
		if full, ok := nodeFull(cfg.MaxCalls, calls("")); ok && adm.Verdict == focus.Accept {
			return full // a call this node would take, over --max-calls
		}
		return adm
	}
	if cl != nil {
		// Only other nodes may mark a call as forwarded to its owner.
		focusCfg.TrustProxied = func(a netip.Addr) bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return cl.IsNode(ctx, a)
		}
	}
	if cfg.ChatEnabled() {
		focusCfg.ChatDomain = cfg.XMPPDomain
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
			ComponentTLS:  cfg.XMPPTLS,
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

		var browsers *join.Server
		if cfg.Web.Enabled() {
			full := func() (focus.Admission, bool) { return nodeFull(cfg.MaxCalls, calls("")) }
			if browsers, err = newJoinServer(cfg, mix, &links.sync, full, log.With("part", "web"), registry); err != nil {
				return err
			}
			links.web.Store(browsers)
			lc.addService("browser join", browsers.Serve)
			checks = append(checks, web.ReadinessCheck{Name: "browser join", Ready: browsers.Ready})
		}

		var nodes bsync.ClusterConfig
		if cl != nil {
			rst := st.(*storeredis.Store)
			nodes = bsync.ClusterConfig{Ownership: cl, Bus: rst.Bus(0), Leases: rst, Affiliations: rst, Proxy: cfg.ProxyCalls}
		}
		syncCfg := bsync.Config{
			Cluster:           nodes,
			Audio:             foc,
			Chat:              chat,
			VCards:            chat,
			SIPDomain:         cfg.SIPDomain,
			ChatDomain:        cfg.XMPPDomain,
			Directory:         cfg.Directory,
			Tokens:            st,
			TokenTTL:          cfg.JoinTokenTTL,
			AnnounceTokens:    cfg.AnnounceDialIn,
			RequireEncryption: cfg.MediaEncryption == focus.EncryptionRequired,
			JoinTonesUpTo:     cfg.JoinTonesUpTo,
			Logger:            log.With("part", "sync"),
			Registerer:        registry,
		}
		if browsers != nil {
			syncCfg.Browsers, syncCfg.WebEndpoints, syncCfg.WebLink = browserwire.NewLegs(browsers), foc, browsers.Link
		}
		sy, err := bsync.New(syncCfg)
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		links.sync.Store(sy)
		lc.addService("sync", sy.Serve)
		checks = append(checks, web.ReadinessCheck{Name: "sync", Ready: sy.Ready})
	}

	handlers, err := adminHandlers(cfg, checks, foc, links.sync.Load(), log)
	if err != nil {
		return err
	}
	ops, err := web.NewOps(web.OpsConfig{
		Listen:   cfg.HTTPListen,
		Gatherer: registry,
		Checks:   checks,
		Handlers: handlers,
		Drain: func(ctx context.Context) (string, error) {
			return drain(ctx, cfg.DrainTimeout, &draining, cl, func() int { return calls("") }, log)
		},
		Logger: log.With("part", "ops"),
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
	ready := func() bool {
		pingCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return st.Ping(pingCtx) == nil
	}
	return st, ready, nil
}

// prefixed is prefix+v, or empty for an empty v.
func prefixed(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + v
}

// drain stops this node taking new rooms (or, alone, new calls) and waits
// until its calls have ended or timeout passes.
func drain(ctx context.Context, timeout time.Duration, draining *atomic.Bool, cl *cluster.Cluster, calls func() int, log *slog.Logger) (string, error) {
	draining.Store(true)
	if cl != nil {
		if err := cl.Drain(ctx); err != nil {
			log.Warn("draining: telling the other nodes failed; they learn it at the next heartbeat", "err", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := -1
	for {
		n := calls()
		if n == 0 {
			log.Info("drained: no calls left")
			return "drained: no calls left", nil
		}
		if n != last {
			log.Info("draining: waiting for calls to end", "calls", n, "deadline", timeout)
			last = n
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("drain timeout: %d calls still up; they are hung up at shutdown", n)
			log.Warn(msg)
			return msg, nil
		case <-t.C:
		}
	}
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
