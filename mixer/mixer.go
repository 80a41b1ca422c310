package mixer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/mixer/codec"
	"cusax.dev/bridge/mixer/prompt"
)

// Frame is the mixer's clock period: every room mixes and sends one 20 ms
// frame per tick.
const Frame = 20 * time.Millisecond

// Defaults for zero Config fields.
const (
	DefaultPortMin    = 16384
	DefaultPortMax    = 32767
	DefaultRTPTimeout = 30 * time.Second
	DefaultMaxTalkers = 3
	// DefaultLegsPerPort is Config.LegsPerPort's default: as many legs as
	// one batched system call carries.
	DefaultLegsPerPort = sharedBatchN
)

// ErrClosed is returned by calls on a closed Mixer or Leg.
var ErrClosed = errors.New("mixer: closed")

// Config for New. Zero values get sensible defaults.
type Config struct {
	// BindAddr is the IP the RTP sockets bind to (e.g. 127.0.0.1); zero
	// binds 0.0.0.0.
	BindAddr netip.Addr
	// PortMin and PortMax bound the RTP ports: even ports carry RTP, the
	// next odd one RTCP (from --rtp-ports; default 16384-32767).
	PortMin, PortMax int
	// RTPTimeout is how long a leg may send nothing before EventRTPTimeout
	// (default 30 s); it never fires while a leg is on hold.
	RTPTimeout time.Duration
	// LegsPerPort is how many legs of a room may share one RTP/RTCP port
	// pair, told apart by their peers' addresses, so that a tick reads and
	// sends a port's packets with one system call each (default and most
	// 64; 1 gives every leg a pair of its own). Legs behind a NAT
	// (LegConfig.BehindNAT) always get their own.
	LegsPerPort int
	// MaxTalkers caps the mix to the K loudest talkers (default 3).
	MaxTalkers int
	// Workers is the size of the worker pool rooms are spread over
	// (default runtime.GOMAXPROCS(0)).
	Workers int
	// OnEvent receives events; it is called from mixer goroutines and must
	// not block.
	OnEvent func(Event)
	// Prompts are the voice prompts and tones legs and rooms can be
	// played (Leg.Play, Leg.PlayToOthers, Leg.PlayToRoom); nil has none.
	Prompts *prompt.Set
	// Logger gets the mixer's logs; nil discards them.
	Logger *slog.Logger
	// Metrics is where the mixer's bridge_mixer_* metrics are registered;
	// nil uses a private registry.
	Metrics prometheus.Registerer
}

// Mixer owns the rooms, their legs and the workers that clock them.
type Mixer struct {
	cfg     Config
	log     *slog.Logger
	met     *metrics
	ports   *portPool
	workers []*worker
	stop    chan struct{}
	wg      sync.WaitGroup
	nextID  atomic.Uint64
	closed  atomic.Bool

	// noIO makes ticks skip socket reads and writes, so benchmarks can
	// measure the mixing CPU alone. Tests only.
	noIO bool

	mu    sync.Mutex
	rooms map[string]*room
	legs  map[uint64]*Leg
}

// New starts a mixer and its workers.
func New(cfg Config) (*Mixer, error) {
	if !cfg.BindAddr.IsValid() {
		cfg.BindAddr = netip.IPv4Unspecified()
	}
	if cfg.PortMin == 0 && cfg.PortMax == 0 {
		cfg.PortMin, cfg.PortMax = DefaultPortMin, DefaultPortMax
	}
	if cfg.PortMin < 1 || cfg.PortMax > 65535 || cfg.PortMax < cfg.PortMin+1 {
		return nil, fmt.Errorf("mixer: want an RTP port range within 1-65535 holding at least one even/odd pair, got %d-%d", cfg.PortMin, cfg.PortMax)
	}
	if cfg.LegsPerPort == 0 {
		cfg.LegsPerPort = DefaultLegsPerPort
	}
	if cfg.LegsPerPort < 1 || cfg.LegsPerPort > sharedBatchN {
		return nil, fmt.Errorf("mixer: want 1-%d legs per RTP port, got %d", sharedBatchN, cfg.LegsPerPort)
	}
	if cfg.RTPTimeout <= 0 {
		cfg.RTPTimeout = DefaultRTPTimeout
	}
	if cfg.MaxTalkers <= 0 {
		cfg.MaxTalkers = DefaultMaxTalkers
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	met, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	m := &Mixer{
		cfg:   cfg,
		log:   cfg.Logger,
		met:   met,
		ports: newPortPool(cfg.BindAddr, cfg.PortMin, cfg.PortMax),
		stop:  make(chan struct{}),
		rooms: make(map[string]*room),
		legs:  make(map[uint64]*Leg),
	}
	for i := range cfg.Workers {
		w := newWorker(m, i, cfg.Workers)
		m.workers = append(m.workers, w)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			w.run(m.stop)
		}()
	}
	return m, nil
}

// Serve blocks until ctx ends, then closes the mixer. It lets cmd/bridge run
// the mixer like its other services; calling Close directly is equivalent.
func (m *Mixer) Serve(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-m.stop:
	}
	return m.Close()
}

// Ready reports whether the mixer accepts legs.
func (m *Mixer) Ready() bool { return !m.closed.Load() }

// Close closes every leg and stops the workers. It is idempotent.
func (m *Mixer) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	m.mu.Lock()
	legs := make([]*Leg, 0, len(m.legs))
	for _, l := range m.legs {
		legs = append(legs, l)
	}
	m.mu.Unlock()
	for _, l := range legs {
		l.Close()
	}
	close(m.stop)
	m.wg.Wait()
	return nil
}

// CodecSpec names a codec as SDP does. Name is case-insensitive: "PCMU",
// "PCMA", "G722", "opus".
type CodecSpec struct {
	Name        string
	PayloadType uint8
	ClockRate   uint32
	Channels    int
}

// SupportedCodecs lists what the mixer speaks, in order of preference (opus,
// G722, PCMU, PCMA), with static payload types where RFC 3551 has them and 111
// for Opus (a common dynamic choice; the offer decides).
func SupportedCodecs() []CodecSpec {
	all := codec.All()
	out := make([]CodecSpec, 0, len(all))
	for _, in := range all {
		pt := uint8(111)
		if in.StaticPT >= 0 {
			pt = uint8(in.StaticPT)
		}
		out = append(out, CodecSpec{Name: in.Name, PayloadType: pt, ClockRate: in.ClockRate, Channels: in.Channels})
	}
	return out
}

// LegConfig is what focus negotiated for one call.
type LegConfig struct {
	Room  string
	Codec CodecSpec
	// TelephoneEvent is the RFC 4733 payload type; 0 means none.
	TelephoneEvent uint8
	// Remote is where to send; it may be zero until known, as symmetric RTP
	// latches to the real source anyway.
	Remote netip.AddrPort
	// BehindNAT says the leg's media may come from an address its SDP did
	// not give (the signalling came from elsewhere): the leg gets a port
	// of its own and latches to the first source (RFC 4961), which a port
	// shared by several legs cannot do safely.
	BehindNAT bool
	// SRTP, when set, makes the leg's RTP and RTCP SRTP and SRTCP; packets
	// that fail authentication are dropped and counted, never mixed.
	SRTP *SRTPKeys
}

func (c LegConfig) validate() (codec.Info, error) {
	if strings.TrimSpace(c.Room) == "" {
		return codec.Info{}, errors.New("mixer: leg needs a room name, got an empty one")
	}
	in, err := codec.Lookup(c.Codec.Name)
	if err != nil {
		return codec.Info{}, fmt.Errorf("mixer: leg codec: %w", err)
	}
	if c.Codec.PayloadType > 127 {
		return codec.Info{}, fmt.Errorf("mixer: want an RTP payload type 0-127, got %d", c.Codec.PayloadType)
	}
	if c.TelephoneEvent > 127 || (c.TelephoneEvent != 0 && c.TelephoneEvent == c.Codec.PayloadType) {
		return codec.Info{}, fmt.Errorf("mixer: telephone-event payload type %d is invalid or clashes with the codec's", c.TelephoneEvent)
	}
	if c.SRTP != nil {
		if _, err := newSRTP(c.SRTP); err != nil {
			return codec.Info{}, err
		}
	}
	if c.Codec.ClockRate != 0 && c.Codec.ClockRate != in.ClockRate {
		return codec.Info{}, fmt.Errorf("mixer: %s runs at an RTP clock of %d, got %d", in.Name, in.ClockRate, c.Codec.ClockRate)
	}
	return in, nil
}

// AddLeg binds an RTP/RTCP port pair from the range and puts a new leg in its
// room (creating the room on its first leg). The leg starts mixing at the
// room's next tick.
func (m *Mixer) AddLeg(cfg LegConfig) (*Leg, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	info, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	l, err := newLeg(m, m.nextID.Add(1), cfg, info)
	if err != nil {
		return nil, err
	}
	return m.place(l)
}

// place puts a new leg in its room, creating the room on its first leg.
func (m *Mixer) place(l *Leg) (*Leg, error) {
	cfg := l.cfg
	m.mu.Lock()
	if m.closed.Load() {
		m.mu.Unlock()
		l.closeSockets()
		return nil, ErrClosed
	}
	r := m.rooms[cfg.Room]
	fresh := r == nil
	if fresh {
		r = newRoom(m, cfg.Room, m.pickWorker())
	}
	if l.tx == nil && l.sharesPort() {
		if err := m.attachShared(r, l); err != nil {
			m.mu.Unlock()
			return nil, err
		}
	}
	if fresh {
		m.rooms[cfg.Room] = r
		m.met.rooms.Inc()
		r.pending = append(r.pending, l)
		l.room = r
		m.legs[l.id] = l
		m.mu.Unlock()
		r.worker.add(r)
	} else {
		r.pending = append(r.pending, l)
		r.changed.Store(true)
		l.room = r
		m.legs[l.id] = l
		m.mu.Unlock()
	}
	m.met.legs.Inc()
	m.log.Debug("leg added", "room", cfg.Room, "leg", l.id, "codec", l.media.info.Name, "local", l.local, "packet", l.tx != nil)
	return l, nil
}

// pickWorker returns the worker with the fewest rooms. Callers hold m.mu.
func (m *Mixer) pickWorker() *worker {
	best := m.workers[0]
	for _, w := range m.workers[1:] {
		if w.rooms.Load() < best.rooms.Load() {
			best = w
		}
	}
	return best
}

// emit hands an event to the owner.
func (m *Mixer) emit(ev Event) {
	if ev.Kind > 0 && int(ev.Kind) < len(m.met.events) {
		m.met.events[ev.Kind].Inc()
	}
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(ev)
	}
}
