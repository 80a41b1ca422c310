package sync

import (
	"context"
	"errors"
	"io"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sync keeps the audio and chat faces of every room in step. Make one with
// New, hook Admit and OnFocusEvent into focus.Config and OnChatEvent into
// muc.Config, then run Serve.
type Sync struct {
	cfg   Config
	audio Audio
	chat  Chat
	log   *slog.Logger
	m     *metrics
	dir   []dirRule
	ttl   time.Duration
	now   func() time.Time

	q       *queue
	msgq    *queue // MESSAGEs to phones, sent in order off the event path
	nodes   *nodes // the other nodes; nil when running alone
	running atomic.Bool
	wg      gosync.WaitGroup // goroutines acting on the faces (kicks, closes)

	// mu guards what Admit (on SIP goroutines) reads and the worker writes.
	mu      gosync.Mutex
	tokens  map[string]joinToken // by token
	tokenOf map[string]string    // room NUL jid -> token
	legs    map[string]*legState // by Call-ID, admitted or connected
	// moderated remembers each room's last moderated flag, so a change can
	// be told from a save of an unrelated field.
	moderated map[string]bool
}

// legState is what sync knows about one call.
type legState struct {
	callID, room string
	jid          string // the bound person's bare JID; "" for an anonymous caller
	method       string // how it was bound: token, hint, directory, none
	display      string // name for its audio-only occupant
	audioNick    string // its audio-only occupant, "" if none
	chatNick     string // the bound chat occupant showing this leg in its presence
	joined       bool
	ending       bool // sync asked the focus to hang it up
	dialOut      bool
	browser      bool   // a browser leg (web/join), not a phone
	secure       bool   // signalling over TLS (HTTPS for a browser)
	media        string // srtp, dtls-srtp or rtp
	ringing      bool
	muted        bool // by the focus (what sync last asked)
	selfMuted    bool
	held         bool
	talking      bool
	mediaID      uint64
	pin          *pinEntry // awaiting the room password as a DTMF PIN
	admitted     time.Time
}

// New checks cfg and builds a Sync; nothing happens until Serve.
func New(cfg Config) (*Sync, error) {
	if cfg.Audio == nil || cfg.Chat == nil {
		return nil, errors.New("sync: Config.Audio and Config.Chat are both required")
	}
	if cfg.SIPDomain == "" {
		return nil, errors.New("sync: Config.SIPDomain is required for dial-in URIs")
	}
	if err := cfg.Cluster.check(); err != nil {
		return nil, err
	}
	if cfg.Cluster.enabled() && cfg.ChatDomain == "" {
		return nil, errors.New("sync: Config.ChatDomain is required with Config.Cluster: it names the component link nodes share")
	}
	dir, err := compileDirectory(cfg.Directory)
	if err != nil {
		return nil, err
	}
	reg := cfg.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Sync{
		cfg: cfg, audio: cfg.Audio, chat: cfg.Chat, log: log, m: m, dir: dir,
		ttl: cfg.TokenTTL, now: cfg.Now, q: newQueue(), msgq: newQueue(),
		tokens: map[string]joinToken{}, tokenOf: map[string]string{}, legs: map[string]*legState{}, moderated: map[string]bool{},
	}
	if cfg.Browsers != nil {
		s.audio = allLegs{Audio: cfg.Audio, web: cfg.Browsers}
	}
	if cfg.Cluster.enabled() {
		s.nodes = newNodes(cfg.Cluster, cfg.Chat, cfg.VCards, cfg.ChatDomain, log.With("cluster", true))
		s.chat = s.nodes.chat
		s.cfg.VCards = s.nodes.chat
	}
	if s.ttl <= 0 {
		s.ttl = 24 * time.Hour
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.PINTimeout <= 0 {
		s.cfg.PINTimeout = 60 * time.Second
	}
	return s, nil
}

// Serve applies events from both faces, in order, until ctx ends; it
// reconciles the faces at start and each time the chat face's component
// link comes (back) up. It returns nil on a clean stop.
func (s *Sync) Serve(ctx context.Context) error {
	s.running.Store(true)
	defer s.running.Store(false)
	defer s.wg.Wait()
	var senders gosync.WaitGroup
	defer senders.Wait()
	if s.nodes != nil {
		senders.Add(1)
		go func() { defer senders.Done(); s.nodes.serve(ctx, s) }()
	}
	senders.Add(1)
	go func() {
		defer senders.Done()
		for {
			for _, f := range s.msgq.take() {
				f(ctx)
			}
			select {
			case <-ctx.Done():
				return
			case <-s.msgq.wake:
			}
		}
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var linked linkState
	ticks := 0
	for {
		if now := s.linkState(); now != linked {
			linked = now
			if now.up {
				s.reconcile(ctx)
			}
		}
		for _, f := range s.q.take() {
			f(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.q.wake:
		case <-tick.C:
			s.expirePINs(ctx)
			if ticks++; ticks%120 == 0 {
				s.prune()
			}
		}
	}
}

// linkState is what the chat face's link looks like from here; sync
// reconciles each time it changes to up.
type linkState struct {
	up, local bool
	holder    uint64 // among many nodes, the link lease's token
}

func (s *Sync) linkState() linkState {
	if s.nodes != nil {
		return s.nodes.chat.linkState()
	}
	return linkState{up: s.chat.Ready()}
}

// Ready reports whether Serve is running, for /readyz.
func (s *Sync) Ready() bool { return s.running.Load() }

// do queues work for the Serve goroutine, which alone changes the faces
// in response to events, so effects keep the order of their causes.
func (s *Sync) do(f func(ctx context.Context)) { s.q.push(f) }

// async runs an effect that may block for a SIP transaction (BYE, CANCEL,
// closing a room) without holding up the events behind it.
func (s *Sync) async(ctx context.Context, f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 40*time.Second)
		defer cancel()
		f(c)
	}()
}

// queue hands work to one consumer without ever blocking producers (the
// focus's SIP goroutines, the muc's event goroutine).
type queue struct {
	mu    gosync.Mutex
	items []func(context.Context)
	wake  chan struct{}
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

func (q *queue) push(f func(context.Context)) {
	q.mu.Lock()
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) take() []func(context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// prune forgets calls that were admitted but never connected (the INVITE
// failed after Admit, e.g. no common codec) and that the focus no longer
// holds, so the table does not grow.
func (s *Sync) prune() {
	live := map[string]bool{}
	for _, li := range s.audio.Legs("") {
		live[li.CallID] = true
	}
	cutoff := s.now().Add(-2 * time.Minute)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, l := range s.legs {
		if !l.joined && !live[id] && l.admitted.Before(cutoff) {
			delete(s.legs, id)
		}
	}
}
