package focustest

import (
	"errors"
	"net/netip"
	"sync"

	"cusax.dev/bridge/focus"
)

// FakeMedia stands in for the mixer in unit tests: it hands out legs with
// distinct ports and remembers what the focus asked of them.
type FakeMedia struct {
	mu     sync.Mutex
	next   uint64
	legs   map[uint64]*FakeLeg
	codecs []focus.Codec
	// Fail makes AddLeg fail, like a mixer out of ports.
	Fail bool
}

// FakeLeg is one leg of a FakeMedia.
type FakeLeg struct {
	m      *FakeMedia
	id     uint64
	mu     sync.Mutex
	cfg    focus.MediaLegConfig
	muted  bool
	deaf   bool
	held   bool
	closed bool
}

// DefaultCodecs mirror the mixer's preference order.
var DefaultCodecs = []focus.Codec{
	{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2},
	{Name: "G722", PayloadType: 9, ClockRate: 8000, Channels: 1},
	{Name: "PCMU", PayloadType: 0, ClockRate: 8000, Channels: 1},
	{Name: "PCMA", PayloadType: 8, ClockRate: 8000, Channels: 1},
}

// NewFakeMedia returns an engine offering opus, G722, PCMU and PCMA.
func NewFakeMedia() *FakeMedia {
	return &FakeMedia{legs: map[uint64]*FakeLeg{}, codecs: DefaultCodecs}
}

// Codecs implements focus.Media.
func (m *FakeMedia) Codecs() []focus.Codec { return m.codecs }

// AddLeg implements focus.Media; it fails when Fail is set.
func (m *FakeMedia) AddLeg(cfg focus.MediaLegConfig) (focus.MediaLeg, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail {
		return nil, errors.New("no ports")
	}
	m.next++
	l := &FakeLeg{m: m, id: m.next, cfg: cfg}
	m.legs[l.id] = l
	return l, nil
}

// Open counts legs not yet closed: every path must bring it back to 0.
func (m *FakeMedia) Open() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.legs {
		l.mu.Lock()
		if !l.closed {
			n++
		}
		l.mu.Unlock()
	}
	return n
}

// Leg returns the leg with that media ID.
func (m *FakeMedia) Leg(id uint64) *FakeLeg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.legs[id]
}

// ID implements focus.MediaLeg.
func (l *FakeLeg) ID() uint64 { return l.id }

// LocalAddr gives each leg its own even port.
func (l *FakeLeg) LocalAddr() netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(20000+2*l.id))
}

// Update records the new config.
func (l *FakeLeg) Update(cfg focus.MediaLegConfig) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = cfg
	return nil
}

// SetMuted records the mute flag.
func (l *FakeLeg) SetMuted(v bool) { l.mu.Lock(); l.muted = v; l.mu.Unlock() }

// SetDeaf records the deaf flag.
func (l *FakeLeg) SetDeaf(v bool) { l.mu.Lock(); l.deaf = v; l.mu.Unlock() }

// SetHold records the hold flag.
func (l *FakeLeg) SetHold(v bool) { l.mu.Lock(); l.held = v; l.mu.Unlock() }

// Close marks the leg closed (its ports released).
func (l *FakeLeg) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

// State returns what the focus last set: config, muted, held, closed.
func (l *FakeLeg) State() (focus.MediaLegConfig, bool, bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg, l.muted, l.held, l.closed
}
