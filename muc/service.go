package muc

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"cusax.dev/bridge/store"
)

// Service is the XEP-0045 service for one component domain. It is safe for
// concurrent use: stanzas from the link and commands from sync are applied
// one at a time under one lock, and everything they send is queued in order
// for the link's writer.
type Service struct {
	cfg    Config
	log    *slog.Logger
	domain string
	m      *metrics
	now    func() time.Time
	idKey  []byte

	mu    sync.Mutex
	rooms map[string]*room
	fwd   map[string]pendingIQ // relayed occupant IQs by our id
	out   outQueue

	// vcards are the vCard fetches awaiting a reply, by our id (vcard.go).
	vcards map[string]vcardWait
	// mcast is what this link session knows of recipient domains'
	// multicast support (multicast.go).
	mcast multicastState
	// arrived is when the stanza being handled reached the component; zero
	// outside stanza handling. Events take it as their At.
	arrived time.Time
	// sender is the bare JID of the stanza being handled; "" outside
	// stanza handling. Events with an actor take it as their ActorJID.
	sender string

	events   *eventQueue
	ready    atomic.Bool
	standby  atomic.Bool
	stopping atomic.Bool
	loaded   atomic.Bool
	link     linkState
}

// New checks cfg and builds a service; Serve connects it.
func New(cfg Config) (*Service, error) {
	if cfg.Domain == "" {
		return nil, errors.New("muc: Config.Domain is required (the component domain, e.g. conference.example.test), got an empty one")
	}
	d, err := jid.Parse(cfg.Domain)
	if err != nil || d.Localpart() != "" || d.Resourcepart() != "" {
		return nil, fmt.Errorf("muc: Config.Domain must be a bare domain, got %q (%v)", cfg.Domain, err)
	}
	if cfg.ComponentAddr == "" {
		cfg.ComponentAddr = "127.0.0.1:5347"
	}
	if cfg.LinkLeaseTTL <= 0 {
		cfg.LinkLeaseTTL = defaultLinkLeaseTTL
	}
	if cfg.Leases != nil && cfg.NodeID == "" {
		return nil, errors.New("muc: Config.Leases is set without a NodeID to hold the component link lease as")
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 250 * time.Millisecond
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = cfg.ReconnectMin
	}
	if cfg.MaxHistory <= 0 {
		cfg.MaxHistory = 50
	}
	if cfg.Name == "" {
		cfg.Name = "Chat rooms"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("muc: registering metrics: %w", err)
	}
	s := &Service{
		cfg: cfg, log: log.With("component", d.String()), domain: d.String(), m: m,
		now: cfg.Now, idKey: occupantIDKey(cfg.Secret),
		rooms: map[string]*room{}, fwd: map[string]pendingIQ{}, events: newEventQueue(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.out.wake = make(chan struct{}, 1)
	s.out.drained = make(chan struct{}, 1)
	return s, nil
}

// defaultRoomConfig returns a fresh copy of the configured default (its
// slices must not be shared between rooms).
func (s *Service) defaultRoomConfig() store.RoomConfig {
	c := DefaultRoomConfig()
	if s.cfg.DefaultRoom != nil {
		c = *s.cfg.DefaultRoom
	}
	c.GetMemberList = append([]string(nil), c.GetMemberList...)
	c.PresenceBroadcast = append([]string(nil), c.PresenceBroadcast...)
	if c.HistoryLength > s.cfg.MaxHistory {
		c.HistoryLength = s.cfg.MaxHistory
	}
	return c
}

// Ready reports whether the component link is up, for /readyz.
func (s *Service) Ready() bool { return s.ready.Load() }

// outQueue keeps outgoing stanzas in the order the service produced them.
type outQueue struct {
	mu      sync.Mutex
	items   []*element
	wake    chan struct{}
	drained chan struct{} // signalled by the writer after each batch
}

// maxQueued bounds what waits for a link that is down; beyond it stanzas
// are dropped (and counted), since their recipients will rejoin anyway.
// While the link is up nothing is dropped: the reader stops taking input
// above highWater instead (see waitDrained), so TCP pushes back on the
// server and, through it, on the senders.
const (
	maxQueued = 50000
	highWater = 5000
)

func (s *Service) send(e *element) {
	s.out.mu.Lock()
	if len(s.out.items) >= maxQueued && !s.ready.Load() {
		s.out.mu.Unlock()
		s.m.dropped.Inc()
		return
	}
	s.out.items = append(s.out.items, e)
	s.out.mu.Unlock()
	select {
	case s.out.wake <- struct{}{}:
	default:
	}
}

func (s *Service) queued() int {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return len(s.out.items)
}

// waitDrained blocks the link's reader while the outgoing queue is above
// highWater and the link is up.
func (s *Service) waitDrained(ctx context.Context) {
	for s.queued() > highWater && s.ready.Load() {
		select {
		case <-ctx.Done():
			return
		case <-s.out.drained:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Service) takeOut() []*element {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	items := s.out.items
	s.out.items = nil
	return items
}

func (s *Service) emit(e Event) {
	if e.At.IsZero() {
		e.At = s.arrived
		if e.At.IsZero() {
			e.At = s.now()
		}
	}
	if e.Actor != "" && e.ActorJID == "" {
		e.ActorJID = s.sender
	}
	n := s.events.push(e)
	s.m.eventsQueue.Set(float64(n))
}

// runEvents delivers events to cfg.OnEvent until ctx ends.
func (s *Service) runEvents(ctx context.Context) {
	for {
		for _, e := range s.events.take() {
			if s.cfg.OnEvent != nil {
				s.cfg.OnEvent(e)
			}
		}
		s.m.eventsQueue.Set(0)
		select {
		case <-ctx.Done():
			return
		case <-s.events.wake:
		}
	}
}

// newID returns a random identifier for stanza-ids and our own requests.
func newID() string {
	var b [15]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("muc: crypto/rand failed: " + err.Error())
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// storeCtx bounds a store call made while holding the lock.
func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// updateGauges refreshes room and occupant gauges; called after changes.
func (s *Service) updateGauges() {
	xmpp, audio := 0, 0
	for _, r := range s.rooms {
		for _, o := range r.occ {
			if o.audioOnly() {
				audio++
			} else {
				xmpp++
			}
		}
	}
	s.m.rooms.Set(float64(len(s.rooms)))
	s.m.occupants.WithLabelValues("xmpp").Set(float64(xmpp))
	s.m.occupants.WithLabelValues("audio").Set(float64(audio))
}
