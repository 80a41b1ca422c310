package mixer

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"

	"cusax.dev/bridge/mixer/codec"
	"cusax.dev/bridge/mixer/jitter"
)

// maxDatagram is the receive buffer size; anything longer is truncated by the
// kernel and then refused as oversized.
const maxDatagram = 2048

// rxMaxPerTick bounds the datagrams one leg's socket is read for per tick
// (a normal leg has one or two).
const rxMaxPerTick = 32

// Leg is one participant's RTP session in a room. Its controls are safe to
// call from any goroutine and take effect at the room's next tick; everything
// else in it belongs to the room's worker.
type Leg struct {
	id    uint64
	m     *Mixer
	room  *room
	local netip.AddrPort
	port  int

	// rtpConn and rtcpConn are outside Go's poller (socket_unix.go). A leg
	// on a shared port has no rtpConn, and rtcpConn is the port's.
	rtpConn, rtcpConn *udpSocket
	// shared is the port the leg shares with others of its room, or nil
	// when it has one of its own (sharedport.go).
	shared *sharedPort

	// tx and inbox replace the sockets of a packet leg (AddPacketLeg).
	tx    PacketWriter
	inbox inbox
	// srtp is set for an SRTP leg (LegConfig.SRTP); worker-owned.
	srtp *srtpState

	muted, deaf, held, closed atomic.Bool

	cfgMu   sync.Mutex
	cfg     LegConfig  // the latest configuration (Update writes it)
	pending *LegConfig // set by Update, applied by the worker
	hasPend atomic.Bool

	// Worker-owned state from here on.
	media legMedia
	rx    receiver
	out   sender
	talk  talkState
	dtmf  dtmfState
	rtcp  rtcpState

	prompts promptQueue // prompts for this leg alone (prompt.go)

	tick     uint64 // room tick at the last drain
	lastRecv uint64 // tick of the last accepted RTP packet
	timedOut bool
	wasHeld  bool
	// wasSilenced is whether the leg was muted, held or closed last tick.
	wasSilenced bool
	inMix       bool
	key         netip.AddrPort // the address the shared port routes to the leg
}

// legMedia is the codec side of a leg.
type legMedia struct {
	info  codec.Info
	pt    uint8
	tePT  uint8
	dec   codec.Decoder
	lazy  codec.Lazy     // dec as a Lazy decoder, or nil
	vad   codec.Activity // dec as an Activity decoder, or nil
	enc   codec.Encoder
	group *codecGroup
}

func newLeg(m *Mixer, id uint64, cfg LegConfig, info codec.Info) (*Leg, error) {
	l := &Leg{id: id, m: m, cfg: cfg}
	if err := l.media.set(cfg, info); err != nil {
		return nil, err
	}
	if cfg.SRTP != nil {
		s, err := newSRTP(cfg.SRTP)
		if err != nil {
			return nil, err
		}
		l.srtp = s
	}
	if !l.sharesPort() {
		a, b, port, err := m.ports.bind()
		if err != nil {
			return nil, err
		}
		l.rtpConn, l.rtcpConn, l.port = a, b, port
		l.local = netip.AddrPortFrom(m.cfg.BindAddr, uint16(port))
	}
	l.rx.init(l, info)
	l.out.init(cfg.Remote)
	l.initRTCP()
	return l, nil
}

// sharesPort reports whether the leg is to share a port with others of its
// room: its peer's address is known and trusted to be where its media comes
// from. Its port is given when it is placed in its room.
func (l *Leg) sharesPort() bool {
	r := l.cfg.Remote
	return l.m.cfg.LegsPerPort > 1 && !l.cfg.BehindNAT && r.IsValid() && !r.Addr().IsUnspecified() && r.Port() != 0
}

func (lm *legMedia) set(cfg LegConfig, info codec.Info) error {
	dec, err := codec.NewDecoder(info.Name)
	if err != nil {
		return fmt.Errorf("mixer: %w", err)
	}
	enc, err := codec.NewEncoder(info.Name)
	if err != nil {
		return fmt.Errorf("mixer: %w", err)
	}
	lm.info = info
	lm.pt = cfg.Codec.PayloadType
	lm.tePT = cfg.TelephoneEvent
	lm.dec = dec
	lm.lazy, _ = dec.(codec.Lazy)
	lm.vad, _ = dec.(codec.Activity)
	lm.enc = enc
	lm.group = nil
	return nil
}

// ID identifies the leg in events.
func (l *Leg) ID() uint64 { return l.id }

// Room is the name of the leg's room.
func (l *Leg) Room() string { return l.room.name }

// LocalAddr is the RTP address to put in SDP (RTCP is on the next port).
func (l *Leg) LocalAddr() netip.AddrPort { return l.local }

// Update applies a renegotiation (re-INVITE): a new codec, payload types or
// remote address. The room cannot change. It takes effect at the next tick; a
// new remote address also drops the symmetric-RTP latch so the leg relatches
// to wherever the media now comes from.
func (l *Leg) Update(cfg LegConfig) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if cfg.Room == "" {
		cfg.Room = l.room.name
	}
	if cfg.Room != l.room.name {
		return fmt.Errorf("mixer: leg %d is in room %q, an update cannot move it to %q", l.id, l.room.name, cfg.Room)
	}
	if _, err := cfg.validate(); err != nil {
		return err
	}
	l.cfgMu.Lock()
	l.cfg = cfg
	c := cfg
	l.pending = &c
	l.cfgMu.Unlock()
	l.hasPend.Store(true)
	return nil
}

// SetMuted takes the leg's audio out of every mix (or puts it back) from the
// next tick.
func (l *Leg) SetMuted(v bool) { l.muted.Store(v) }

// SetDeaf makes the leg hear silence (or the room again) from the next tick.
func (l *Leg) SetDeaf(v bool) { l.deaf.Store(v) }

// SetHold stops (or resumes) sending to the leg. A held leg is also left out
// of the mix (music on hold must not reach the room) and never times out.
func (l *Leg) SetHold(v bool) { l.held.Store(v) }

// Close leaves the room and releases the ports. It is idempotent.
func (l *Leg) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.closeSockets()
	l.inbox.close()
	l.m.mu.Lock()
	delete(l.m.legs, l.id)
	l.m.mu.Unlock()
	if l.room != nil {
		l.room.changed.Store(true)
	}
	l.m.met.legs.Dec()
	return nil
}

func (l *Leg) closeSockets() {
	if l.shared != nil {
		l.m.detachShared(l)
		return
	}
	if l.rtpConn != nil {
		l.rtpConn.Close()
	}
	if l.rtcpConn != nil {
		l.rtcpConn.Close()
	}
	if l.port != 0 {
		l.m.ports.release(l.port)
	}
}

// applyPending installs an Update at a tick boundary.
func (l *Leg) applyPending() {
	if !l.hasPend.Load() {
		return
	}
	l.cfgMu.Lock()
	cfg := l.pending
	l.pending = nil
	l.hasPend.Store(false)
	l.cfgMu.Unlock()
	if cfg == nil {
		return
	}
	info, err := cfg.validate()
	if err != nil {
		return
	}
	if info.Name != l.media.info.Name {
		if err := l.media.set(*cfg, info); err != nil {
			l.m.log.Warn("leg codec change failed", "leg", l.id, "codec", info.Name, "err", err)
			return
		}
		l.rx.init(l, info)
		l.out.marker = true
	} else {
		l.media.pt = cfg.Codec.PayloadType
		l.media.tePT = cfg.TelephoneEvent
	}
	if l.tx == nil {
		l.applySRTP(cfg.SRTP)
	}
	if cfg.Remote.IsValid() && cfg.Remote != l.out.remote {
		l.out.remote = cfg.Remote
		l.out.latched = false
		l.rtcp.latched = false
		if l.shared != nil {
			l.shared.route(l, cfg.Remote)
		}
	}
}

// receiver is the per-leg receive state.
type receiver struct {
	jb     *jitter.Buffer
	pkt    rtp.Packet
	batch  rxBatch
	drainF func(fd uintptr) bool

	fifo    [codec.MaxDecodeSamples + codec.FrameSamples]int16
	fifoLen int
	dbuf    [codec.MaxDecodeSamples]int16
	frame   [codec.FrameSamples]int16 // this tick's audio at 16 kHz
	last    [codec.FrameSamples]int16 // the last good frame, for concealment
	haveLst bool
	conceal int    // consecutive concealed frames
	lazyP   []byte // a G.711 payload whose decoding waits until it is mixed
	skipped bool   // frames went undecoded: reset the decoder before the next
	probe   int    // ticks left in which every frame is decoded (receive.go)
	energy  int64  // mean square of this tick's frame
	ssrc    uint32 // remote SSRC of the latest accepted packet
	haveSSR bool
}

func (rx *receiver) init(l *Leg, info codec.Info) {
	rx.jb = jitter.New(jitter.Config{MaxPayload: codec.MaxPayload, FrameTicks: info.FrameTicks})
	rx.pkt.CSRC = make([]uint32, 0, 15)
	rx.pkt.Extensions = make([]rtp.Extension, 0, 4)
	rx.fifoLen = 0
	rx.lazyP = nil
	rx.haveLst = false
	if rx.drainF == nil {
		rx.batch.init(rxBatchN)
		rx.drainF = func(fd uintptr) bool {
			// A flooded port costs its room at most rxMaxPerTick packets
			// of work per tick; the rest waits in (or overflows) the
			// kernel's socket buffer, so other legs never glitch.
			for range rxMaxPerTick / rxBatchN {
				n, err := rx.batch.recv(fd, rxBatchN)
				if err != nil {
					if !isWouldBlock(err) && !l.closed.Load() {
						l.m.log.Debug("RTP socket read failed", "leg", l.id, "err", err)
					}
					return true
				}
				for i := range n {
					b, from := rx.batch.packet(i)
					l.handleRTP(b, from)
				}
				if n < rxBatchN {
					return true
				}
			}
			return true
		}
	}
}

// sender is the per-leg send state.
type sender struct {
	remote  netip.AddrPort
	latched bool
	ssrc    uint32
	seq     uint16
	ts      uint32
	marker  bool
	buf     [12 + codec.MaxPayload]byte
	packets uint32
	octets  uint32
}

func (s *sender) init(remote netip.AddrPort) {
	s.remote = remote
	s.ssrc = rand.Uint32()
	s.seq = uint16(rand.Uint32())
	s.ts = rand.Uint32()
	s.marker = true
}
