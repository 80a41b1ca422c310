package join

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/mixer"
)

// Media is where browser legs' audio goes: *mixer.Mixer.
type Media interface {
	AddPacketLeg(cfg mixer.LegConfig, w mixer.PacketWriter) (*mixer.Leg, error)
}

// Config is everything the join server needs; cmd/bridge fills it from
// flags. Zero values get the defaults named on each field.
type Config struct {
	// Listen is the public web listener (--web-listen), e.g. 0.0.0.0:8443.
	Listen string
	// CertFile and KeyFile serve HTTPS when both are set. Browsers allow
	// the microphone only in a secure context: HTTPS, or http://127.0.0.1.
	CertFile, KeyFile string
	// PublicURL is how browsers reach Listen (--web-public-url), e.g.
	// https://meet.example.com; the links handed out start with it.
	// Default: http://<Listen>.
	PublicURL string

	// RTPAddress is the address of the ICE host candidate: the UDP port
	// every browser's media shares is bound there. Required.
	RTPAddress netip.Addr
	// UDPPort is that port; 0 takes the highest free port of
	// [PortMin, PortMax] (the --rtp-ports range).
	UDPPort          int
	PortMin, PortMax int
	// NATIP is announced instead of RTPAddress (--web-nat-ip: a 1:1 NAT in
	// front of the bridge, as on most clouds).
	NATIP string
	// ICEServers are STUN/TURN URLs handed to browsers (--web-ice-servers),
	// for networks where the browser cannot reach the host candidate.
	ICEServers []webrtc.ICEServer

	Media Media
	Gate  Gate

	// MaxBody bounds an offer (default 64 KiB: an SDP offer is a few KiB).
	MaxBody int64
	// ConnectTimeout ends an admitted leg whose media never connects
	// (default 30 s), so a page that vanished holds nothing.
	ConnectTimeout time.Duration
	Logger         *slog.Logger
	Metrics        prometheus.Registerer
}

// Server serves the join page and the browser legs.
type Server struct {
	cfg      Config
	log      *slog.Logger
	met      *metrics
	api      *webrtc.API
	udp      *loopbackScoped
	listener net.Listener
	http     *http.Server
	serving  atomic.Bool

	mu   sync.Mutex
	legs map[string]*browserLeg // by leg ID
	wg   sync.WaitGroup
}

// New binds the web listener and the media port right away, so a taken
// port is a start-up error, and builds the WebRTC stack.
func New(cfg Config) (*Server, error) {
	if cfg.Media == nil || cfg.Gate == nil {
		return nil, errors.New("join: Config.Media and Config.Gate are both required")
	}
	if !cfg.RTPAddress.IsValid() || cfg.RTPAddress.IsUnspecified() {
		return nil, fmt.Errorf("join: want a specific RTP address for the browsers' ICE host candidate, got %v", cfg.RTPAddress)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("join: HTTPS needs both a certificate and a key file")
	}
	met, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	udp, err := bindMediaPort(cfg.RTPAddress, cfg.UDPPort, cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, err
	}
	api, err := newAPI(cfg, udp)
	if err != nil {
		udp.Close()
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("join: web listener on %s: %w", cfg.Listen, err)
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			l.Close()
			udp.Close()
			return nil, fmt.Errorf("join: loading the web certificate: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	if cfg.PublicURL == "" {
		scheme := "http"
		if cfg.CertFile != "" {
			scheme = "https"
		}
		cfg.PublicURL = scheme + "://" + l.Addr().String()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{cfg: cfg, log: cfg.Logger, met: met, api: api, udp: udp, listener: l, legs: map[string]*browserLeg{}}
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}
	s.log.Info("browser join listening", "addr", l.Addr().String(), "public", cfg.PublicURL, "media", udp.LocalAddr().String())
	return s, nil
}

// Addr is the web listener's address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// MediaAddr is the UDP address every browser's media shares.
func (s *Server) MediaAddr() net.Addr { return s.udp.LocalAddr() }

// PublicURL is the base of the links handed out.
func (s *Server) PublicURL() string { return s.cfg.PublicURL }

// Link is a room's browser link; with a token it is the occupant's
// personal one (the token rides in the fragment, which browsers never
// send to a server or put in a Referer).
func (s *Server) Link(room, token string) string {
	u := s.cfg.PublicURL + "/join/" + room
	if token != "" {
		u += "#" + token
	}
	return u
}

// Ready reports whether the listener is serving, for /readyz.
func (s *Server) Ready() bool { return s.serving.Load() }

// Serve serves until ctx ends, then ends every browser leg and stops.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	s.serving.Store(true)
	go func() { errc <- s.http.Serve(s.listener) }()
	select {
	case err := <-errc:
		s.serving.Store(false)
		s.closeAll("failed")
		return fmt.Errorf("join: web server: %w", err)
	case <-ctx.Done():
	}
	s.serving.Store(false)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s.closeAll("departed")
	err := s.http.Shutdown(sctx)
	s.wg.Wait()
	s.udp.Close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("join: stopping the web server: %w", err)
	}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /join/{room}", s.page)
	mux.Handle("GET /join/static/", http.StripPrefix("/join/static/", staticFiles()))
	mux.HandleFunc("POST /whip/{room}", s.offer)
	mux.HandleFunc("DELETE /whip/{room}/{leg}", s.leave)
	mux.HandleFunc("POST /whip/{room}/{leg}/mute", s.mute)
	mux.HandleFunc("GET /whip/{room}/{leg}/events", s.events)
	mux.HandleFunc("POST /whip/{room}/{leg}", s.secondOffer)
	return cors(mux)
}

func (s *Server) closeAll(reason string) {
	s.mu.Lock()
	legs := make([]*browserLeg, 0, len(s.legs))
	for _, l := range s.legs {
		legs = append(legs, l)
	}
	s.mu.Unlock()
	for _, l := range legs {
		l.end(reason, "the bridge is stopping")
	}
}
