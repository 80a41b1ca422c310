package focus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// allowed is exactly the methods the focus handles; it is both the Allow
// header and the handler table, so the two cannot drift apart.
var allowed = []sip.RequestMethod{sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.OPTIONS,
	sip.UPDATE, sip.SUBSCRIBE, sip.MESSAGE, sip.INFO, sip.REFER}

// supportedExt is the Supported header: RFC 4028 session timers only.
const supportedExt = "timer"

// Focus is the SIP conference focus. Make one with New, run it with Serve.
type Focus struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	ua     *sipgo.UserAgent
	server *sipgo.Server
	client *sipgo.Client

	allowHdr string
	limiter  *rateLimiter
	rfc2543  rfc2543Branch // made-up branches for RFC 2543 requests (conformance_wire.go)

	mu      sync.Mutex
	legs    map[string]*leg // by dialog key (Call-ID, local tag, remote tag)
	byCall  map[string]*leg // by Call-ID, for events and control calls
	rooms   map[string]*room
	closing map[string]bool // rooms being destroyed: INVITEs get 480
	subs    map[string]*subscription
	stopped bool

	addrMu   sync.Mutex
	udpAddr  netip.AddrPort
	tcpAddr  netip.AddrPort
	tlsAddr  netip.AddrPort
	ready    atomic.Bool
	served   atomic.Bool
	listened chan struct{}
	startErr error

	// stopCtx ends when Serve stops, cutting short every request in flight.
	stopCtx    context.Context
	stopCancel context.CancelFunc

	sessionExpires atomic.Int64 // cfg.SessionExpires, changeable by tests

	wg          sync.WaitGroup // goroutines the focus starts (timers, notifiers, dial-outs)
	spawnMu     sync.Mutex
	spawnClosed bool
}

// New checks cfg and builds a focus; nothing listens until Serve.
func New(cfg Config) (*Focus, error) {
	if cfg.Media == nil {
		return nil, errors.New("focus: Config.Media is required")
	}
	if cfg.Listen == "" {
		return nil, errors.New("focus: Config.Listen is required (e.g. 127.0.0.1:5060)")
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("focus: Listen %q: expected host:port: %w", cfg.Listen, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.SessionExpires == 0 {
		cfg.SessionExpires = defaultSessionExpires
	}
	if cfg.SessionExpires < minSessionExpires {
		cfg.SessionExpires = minSessionExpires
	}
	if cfg.SubscribeExpires <= 0 {
		cfg.SubscribeExpires = defaultSubExpires
	}
	if cfg.SubscribeMinExpires <= 0 {
		cfg.SubscribeMinExpires = minSubExpires
	}
	cfg.SubscribeMinExpires = min(cfg.SubscribeMinExpires, cfg.SubscribeExpires)
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = defaultRetryAfter
	}
	if cfg.InviteRate == 0 {
		cfg.InviteRate = 20
	}
	if cfg.InviteBurst <= 0 && cfg.InviteRate > 0 {
		cfg.InviteBurst = int(2 * cfg.InviteRate)
	}
	if cfg.SelfMute == "" {
		cfg.SelfMute = "*6"
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "cusax-bridge"
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	f := &Focus{
		cfg:      cfg,
		log:      cfg.Logger,
		metrics:  m,
		allowHdr: strings.Join(names, ", "),
		limiter:  newRateLimiter(cfg.InviteRate, cfg.InviteBurst),
		legs:     map[string]*leg{},
		byCall:   map[string]*leg{},
		rooms:    map[string]*room{},
		closing:  map[string]bool{},
		subs:     map[string]*subscription{},
		listened: make(chan struct{}),
	}
	f.sessionExpires.Store(int64(cfg.SessionExpires))
	f.stopCtx, f.stopCancel = context.WithCancel(context.Background())
	return f, nil
}

// Ready reports whether every listener is up and the focus takes calls.
func (f *Focus) Ready() bool { return f.ready.Load() }

// Addr returns the UDP address the focus listens on once Serve has bound
// it (useful with port 0 in tests); the TCP listener has the same port.
func (f *Focus) Addr() netip.AddrPort {
	f.addrMu.Lock()
	defer f.addrMu.Unlock()
	return f.udpAddr
}

// WaitReady blocks until the listeners are bound (nil), Serve failed to
// bind them (its error) or ctx ends.
func (f *Focus) WaitReady(ctx context.Context) error {
	select {
	case <-f.listened:
		f.addrMu.Lock()
		defer f.addrMu.Unlock()
		return f.startErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Serve listens on UDP and TCP (and TLS when configured) and handles SIP
// until ctx ends. It returns nil on a clean stop. A Focus serves once.
func (f *Focus) Serve(ctx context.Context) error {
	if f.served.Swap(true) {
		return errors.New("focus: Serve called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var tlsConf *tls.Config
	if f.cfg.TLSListen != "" && f.cfg.TLSCert != "" && f.cfg.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(f.cfg.TLSCert, f.cfg.TLSKey)
		if err != nil {
			err = fmt.Errorf("focus: loading TLS certificate %s and key %s: %w", f.cfg.TLSCert, f.cfg.TLSKey, err)
			f.failStart(err)
			return err
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	udp, tcp, err := listenPair(f.cfg.Listen)
	if err != nil {
		f.failStart(err)
		return err
	}
	udpAP := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	var tlsL net.Listener
	if tlsConf != nil {
		tlsL, err = tls.Listen("tcp", f.cfg.TLSListen, tlsConf)
		if err != nil {
			udp.Close()
			tcp.Close()
			err = fmt.Errorf("focus: listening on TLS %s: %w", f.cfg.TLSListen, err)
			f.failStart(err)
			return err
		}
	}

	uaOpts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent(f.cfg.UserAgent),
		sipgo.WithUserAgentHostname(f.hostname(udpAP)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(f.log),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(f.log)),
	}
	if tlsConf != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(tlsConf))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return fmt.Errorf("focus: creating SIP user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(f.log))
	if err != nil {
		return fmt.Errorf("focus: creating SIP server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(f.log),
		sipgo.WithClientAddr(udpAP.String()), sipgo.WithClientNAT())
	if err != nil {
		return fmt.Errorf("focus: creating SIP client: %w", err)
	}
	f.ua, f.server, f.client = ua, srv, client
	f.register(srv)

	f.addrMu.Lock()
	f.udpAddr = udpAP
	f.tcpAddr = tcp.Addr().(*net.TCPAddr).AddrPort()
	if tlsL != nil {
		f.tlsAddr = tlsL.Addr().(*net.TCPAddr).AddrPort()
	}
	f.addrMu.Unlock()

	errc := make(chan error, 3)
	n := 2
	go func() { errc <- srv.ServeUDP(&badRequestConn{PacketConn: udp, f: f}) }()
	go func() { errc <- srv.ServeTCP(&streamListener{Listener: tcp, f: f}) }()
	if tlsL != nil {
		n++
		go func() { errc <- srv.ServeTLS(&streamListener{Listener: tlsL, f: f}) }()
	}
	f.ready.Store(true)
	close(f.listened)
	f.log.Info("SIP focus listening", "udp", udpAP, "tcp", f.tcpAddr, "tls", f.tlsAddr)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		n--
	}
	f.ready.Store(false)
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.stopCancel()
	f.dropAll()
	udp.Close()
	tcp.Close()
	if tlsL != nil {
		tlsL.Close()
	}
	ua.Close()
	for ; n > 0; n-- {
		<-errc
	}
	f.spawnMu.Lock()
	f.spawnClosed = true
	f.spawnMu.Unlock()
	f.wg.Wait()
	if serveErr != nil && !errors.Is(serveErr, net.ErrClosed) {
		return fmt.Errorf("focus: SIP listener failed: %w", serveErr)
	}
	return nil
}

// Shutdown hangs up every call with BYE and ends every subscription with a
// final NOTIFY, then stops taking new calls; Serve still needs its ctx
// cancelled to close the listeners. Calls still waiting for their ACK get
// their BYE once it comes (see Kick); those still waiting when ctx ends
// are released without one.
func (f *Focus) Shutdown(ctx context.Context) error {
	f.ready.Store(false)
	f.mu.Lock()
	f.stopped = true
	legs := make([]*leg, 0, len(f.byCall))
	for _, l := range f.byCall {
		legs = append(legs, l)
	}
	subs := make([]*subscription, 0, len(f.subs))
	for _, s := range f.subs {
		subs = append(subs, s)
	}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.hangup(ctx, "booted", "shutdown")
		}()
	}
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.terminate(ctx, "noresource")
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("focus: shutdown before every call was hung up: %w", ctx.Err())
	}
}

// dropAll releases every leg and subscription without signalling, when the
// transport is going away.
func (f *Focus) dropAll() {
	f.mu.Lock()
	legs := make([]*leg, 0, len(f.byCall))
	for _, l := range f.byCall {
		legs = append(legs, l)
	}
	subs := make([]*subscription, 0, len(f.subs))
	for _, s := range f.subs {
		subs = append(subs, s)
	}
	f.mu.Unlock()
	for _, l := range legs {
		l.finish("failed")
	}
	for _, s := range subs {
		s.drop()
	}
}

func (f *Focus) hostname(ap netip.AddrPort) string {
	if f.cfg.Domain != "" {
		return f.cfg.Domain
	}
	return ap.Addr().String()
}

// register installs one handler per allowed method.
func (f *Focus) register(srv *sipgo.Server) {
	h := map[sip.RequestMethod]sipgo.RequestHandler{
		sip.INVITE:    f.onInvite,
		sip.ACK:       f.onAck,
		sip.BYE:       f.onBye,
		sip.CANCEL:    f.onCancel,
		sip.OPTIONS:   f.onOptions,
		sip.UPDATE:    f.onUpdate,
		sip.SUBSCRIBE: f.onSubscribe,
		sip.MESSAGE:   f.onMessage,
		sip.INFO:      f.onInfo,
		sip.REFER:     f.onRefer,
	}
	for _, m := range allowed {
		srv.OnRequest(m, f.guard(h[m]))
	}
	// guard answers every method without a handler (405 or 501).
	srv.OnNoRoute(f.guard(func(*sip.Request, sip.ServerTransaction) {}))
}

// guard keeps one broken request from taking the focus down: a panic in a
// handler becomes a 500 and a log line. Before the handler it runs the
// request-level checks every method shares (checkRequest); ACKs are never
// answered.
func (f *Focus) guard(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if r := recover(); r != nil {
				f.log.Error("SIP handler panicked", "method", req.Method, "panic", r)
				if !req.IsAck() {
					_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil))
				}
			}
		}()
		if !req.IsAck() {
			if r := f.checkRequest(req); r != nil {
				f.reply(req, tx, r.code, r.reason, r.hdrs...)
				return
			}
		}
		adaptRFC2543(req)
		h(req, tx)
	}
}

// respond sends a response, adding the headers every response of the focus
// carries.
func (f *Focus) respond(tx sip.ServerTransaction, res *sip.Response) {
	if res.GetHeader("Server") == nil {
		res.AppendHeader(sip.NewHeader("Server", f.cfg.UserAgent))
	}
	if o, ok := tx.(interface{ Origin() *sip.Request }); ok {
		sipsContact(o.Origin(), res)
	}
	if err := tx.Respond(res); err != nil {
		f.log.Debug("sending SIP response failed", "status", res.StatusCode, "err", err)
	}
}

// reply builds and sends a response with optional extra headers.
func (f *Focus) reply(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	f.respond(tx, res)
}

func (f *Focus) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", f.allowHdr))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp, text/plain, application/dtmf-relay"))
	res.AppendHeader(sip.NewHeader("Supported", supportedExt))
	res.AppendHeader(sip.NewHeader("Allow-Events", "conference, refer"))
	f.respond(tx, res)
}

// contact is the focus's Contact for a room: the conference URI at the
// focus's own address, marked isfocus (RFC 4579 section 5). Over TLS it is
// sip:...;transport=tls, the scheme a sip: request came with (RFC 5630
// section 3.1.3: TLS to the next hop does not make the dialog a sips: one);
// respond turns it into sips: for sips: requests (sipsContact).
func (f *Focus) contact(roomName, transport string) *sip.ContactHeader {
	f.addrMu.Lock()
	ap := f.udpAddr
	switch strings.ToLower(transport) {
	case "tcp":
		ap = f.tcpAddr
	case "tls":
		ap = f.tlsAddr
	}
	f.addrMu.Unlock()
	u := sip.Uri{Scheme: "sip", User: roomName, Host: ap.Addr().String(), Port: int(ap.Port())}
	switch t := strings.ToLower(transport); t {
	case "tcp", "tls":
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", t)
	}
	c := &sip.ContactHeader{Address: u, Params: sip.NewParams()}
	c.Params.Add("isfocus", "")
	return c
}

// conferenceURI is the room's public address.
func (f *Focus) conferenceURI(roomName string) string {
	host := f.cfg.Domain
	if host == "" {
		host = f.Addr().Addr().String()
	}
	return "sip:" + roomName + "@" + host
}

func (f *Focus) failStart(err error) {
	f.addrMu.Lock()
	f.startErr = err
	f.addrMu.Unlock()
	close(f.listened)
}

// listenPair binds UDP and TCP on the same address. With port 0 it looks
// for a port free for both, since the free UDP port's TCP twin may be taken.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	host, port, _ := net.SplitHostPort(addr)
	tries := 1
	if port == "0" {
		tries = 20
	}
	var lastErr error
	for i := 0; i < tries; i++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("focus: listening on UDP %s: %w", addr, err)
		}
		p := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		lastErr = fmt.Errorf("focus: listening on TCP %s: %w", net.JoinHostPort(host, strconv.Itoa(p)), err)
	}
	return nil, nil, lastErr
}

// spawn runs fn on a goroutine Serve waits for before returning; once Serve
// is stopping it starts nothing and returns false.
func (f *Focus) spawn(fn func()) bool {
	f.spawnMu.Lock()
	if f.spawnClosed {
		f.spawnMu.Unlock()
		return false
	}
	f.wg.Add(1)
	f.spawnMu.Unlock()
	go func() {
		defer f.wg.Done()
		fn()
	}()
	return true
}
