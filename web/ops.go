// Package web serves the bridge over HTTP. For now that is the ops server an
// orchestrator and a monitoring system talk to: /healthz (the process is
// alive), /readyz (every part that must be up is up) and /metrics
// (Prometheus text), with an index page at / linking them unless a handler
// (the dashboard) is given for it. The admin API, dashboard and WebRTC join
// will join it.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadinessCheck is one part of the bridge that must be up before the node
// takes traffic: a listener, the XMPP component link, the store.
type ReadinessCheck struct {
	Name  string
	Ready func() bool
	// Advisory checks are listed but never fail /readyz: a node that can
	// still carry its calls without the part (Redis, among many nodes)
	// must stay in its load balancer.
	Advisory bool
}

// OpsConfig configures the ops server.
type OpsConfig struct {
	// Listen is the host:port to serve on.
	Listen string
	// Gatherer is scraped on /metrics.
	Gatherer prometheus.Gatherer
	// Checks decide /readyz; the server's own listener is always one of them.
	Checks []ReadinessCheck
	// Drain, when set, is served on POST /drain: the node stops taking new
	// calls and waits for its running ones to end (Kubernetes' preStop
	// runs `bridge drain`, which calls it). It returns a line for the
	// operator.
	Drain func(ctx context.Context) (string, error)
	// Handlers are served next to the above, by ServeMux pattern (the
	// admin API on "/api/v1/", the dashboard on "GET /{$}").
	Handlers map[string]http.Handler
	Logger   *slog.Logger
}

// Ops is the ops HTTP server.
type Ops struct {
	cfg      OpsConfig
	log      *slog.Logger
	listener net.Listener
	server   *http.Server
	serving  atomic.Bool
}

// NewOps binds the listener right away, so a taken port is a start-up error
// rather than a failure discovered later in a goroutine.
func NewOps(cfg OpsConfig) (*Ops, error) {
	if cfg.Gatherer == nil {
		return nil, errors.New("web: OpsConfig.Gatherer is nil; want the registry to serve on /metrics")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("ops HTTP server: listening on %s: %w", cfg.Listen, err)
	}
	o := &Ops{cfg: cfg, log: log, listener: l}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", o.healthz)
	mux.HandleFunc("GET /readyz", o.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	if cfg.Drain != nil {
		mux.HandleFunc("POST /drain", o.drain)
	}
	if _, ok := cfg.Handlers[indexPattern]; !ok {
		mux.Handle(indexPattern, indexHandler(cfg.Drain != nil))
	}
	for pattern, h := range cfg.Handlers {
		mux.Handle(pattern, h)
	}
	o.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return o, nil
}

// Addr is the address the server listens on (useful with port 0).
func (o *Ops) Addr() net.Addr { return o.listener.Addr() }

// Ready reports whether the server is accepting requests.
func (o *Ops) Ready() bool { return o.serving.Load() }

// Serve answers requests until ctx ends, then stops accepting new ones and
// lets running ones finish for a moment.
func (o *Ops) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	o.serving.Store(true)
	go func() { errc <- o.server.Serve(o.listener) }()
	o.log.Info("ops HTTP server listening", "addr", o.listener.Addr().String())
	select {
	case err := <-errc:
		o.serving.Store(false)
		return fmt.Errorf("ops HTTP server: %w", err)
	case <-ctx.Done():
	}
	o.serving.Store(false)
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := o.server.Shutdown(stopCtx); err != nil {
		return fmt.Errorf("ops HTTP server: shutting down: %w", err)
	}
	return nil
}

// drain blocks until the node is drained or the caller gives up. Only the
// node itself may ask (`bridge drain` in the same pod or host): the ops
// port is open to scrapers, who must not be able to empty a node.
func (o *Ops) drain(w http.ResponseWriter, r *http.Request) {
	if !fromThisHost(r) {
		o.log.Warn("drain refused: not asked from this host", "from", r.RemoteAddr)
		http.Error(w, "drain is only accepted from this host (run `bridge drain` on it)", http.StatusForbidden)
		return
	}
	o.log.Info("drain requested", "from", r.RemoteAddr)
	msg, err := o.cfg.Drain(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "drain failed:", err)
		return
	}
	fmt.Fprintln(w, msg)
}

// fromThisHost reports whether r came over loopback or from the address it
// reached (a server bound to one interface is asked from that interface).
func fromThisHost(r *http.Request) bool {
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	if remote.Addr().Unmap().IsLoopback() {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	l, err := netip.ParseAddrPort(local.String())
	return err == nil && l.Addr().Unmap() == remote.Addr().Unmap()
}

func (o *Ops) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 when every check passes and 503 otherwise, listing each
// check so an operator sees at once what is down.
func (o *Ops) readyz(w http.ResponseWriter, _ *http.Request) {
	checks := append([]ReadinessCheck{{Name: "http", Ready: o.Ready}}, o.cfg.Checks...)
	lines := make([]string, 0, len(checks))
	allReady := true
	for _, c := range checks {
		state := "ok"
		switch {
		case c.Ready():
		case c.Advisory:
			state = "not ready (advisory: the node still serves)"
		default:
			state = "not ready"
			allReady = false
		}
		lines = append(lines, c.Name+": "+state)
	}
	sort.Strings(lines)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !allReady {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}
