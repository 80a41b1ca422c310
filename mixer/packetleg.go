package mixer

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// PacketWriter sends a packet leg's RTP. A WebRTC track is one: ICE,
// DTLS-SRTP and RTCP belong to its owner, and the mixer only hands it
// packets. The room's worker calls WriteRTP once per tick, so it must not
// block; the packet is only valid during the call.
type PacketWriter interface {
	WriteRTP(packet []byte) error
}

// packetPeer stands for a packet leg's remote: its owner has already
// authenticated the packets (DTLS-SRTP), so the leg is latched to it from
// the start and there is no address to learn.
var packetPeer = netip.AddrPortFrom(netip.IPv6Unspecified(), 1)

// inboxSlots bounds the packets a packet leg queues between ticks: one or
// two arrive per tick, and a burst beyond this is dropped like a flooded
// socket buffer would drop it.
const inboxSlots = 16

// AddPacketLeg puts a leg without sockets of its own in its room: its
// owner feeds received RTP to Deliver and the mixer sends the leg's mix
// through w. Everything else (jitter buffer, decoding, talk detection,
// mute, N-1 mixing, RTP timeout) is as for AddLeg.
func (m *Mixer) AddPacketLeg(cfg LegConfig, w PacketWriter) (*Leg, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if w == nil {
		return nil, fmt.Errorf("mixer: a packet leg needs a PacketWriter, got nil")
	}
	info, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	l := &Leg{id: m.nextID.Add(1), m: m, cfg: cfg, tx: w}
	if err := l.media.set(cfg, info); err != nil {
		return nil, err
	}
	l.rx.init(l, info)
	l.out.init(packetPeer)
	l.out.latched = true
	l.inbox.init()
	return m.place(l)
}

// Deliver hands a packet leg one received RTP packet, which it copies. It is
// safe from any goroutine and never blocks: the room's worker takes the
// packets in at its next tick. Packets beyond what a tick holds are dropped
// and counted. It returns ErrClosed once the leg is closed, and an error for
// a leg made by AddLeg (its media comes from its own socket).
func (l *Leg) Deliver(packet []byte) error {
	if l.tx == nil {
		return fmt.Errorf("mixer: leg %d reads its own socket; Deliver is for packet legs", l.id)
	}
	if l.closed.Load() {
		return ErrClosed
	}
	if len(packet) > maxDatagram {
		l.m.met.dropped[dropOversized].Inc()
		return nil
	}
	if !l.inbox.put(packet) {
		l.m.met.dropped[dropInboxFull].Inc()
	}
	return nil
}

// writeRTP sends one packet on the leg's transport.
func (l *Leg) writeRTP(b []byte) error {
	if l.tx != nil {
		return l.tx.WriteRTP(b)
	}
	if l.srtp != nil {
		if b = l.protect(b); b == nil {
			return errSRTPProtect
		}
	}
	if l.shared != nil {
		return l.shared.send(b, l.out.remote)
	}
	_, err := l.rtpConn.WriteToUDPAddrPort(b, l.out.remote)
	return err
}

var errSRTPProtect = errors.New("mixer: SRTP could not protect a packet")

// inbox is a packet leg's queue between its owner's reader and the room's
// worker: fixed slots, so steady state allocates nothing.
type inbox struct {
	mu     sync.Mutex
	slots  [][]byte
	n      int // queued packets, oldest at slots[0]
	closed bool
	spare  [][]byte // the worker's copy of the slots during a drain
}

func (in *inbox) init() {
	in.slots = make([][]byte, inboxSlots)
	in.spare = make([][]byte, inboxSlots)
	for i := range in.slots {
		in.slots[i] = make([]byte, 0, maxDatagram)
		in.spare[i] = make([]byte, 0, maxDatagram)
	}
}

func (in *inbox) put(b []byte) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || in.n == len(in.slots) {
		return false
	}
	in.slots[in.n] = append(in.slots[in.n][:0], b...)
	in.n++
	return true
}

// drain swaps the queued packets out under the lock and files them outside
// it, so the owner's reader never waits on decoding.
func (in *inbox) drain(l *Leg) {
	in.mu.Lock()
	n := in.n
	in.slots, in.spare = in.spare, in.slots
	in.n = 0
	in.mu.Unlock()
	for i := range n {
		l.handleRTP(in.spare[i], packetPeer)
	}
}

func (in *inbox) close() {
	in.mu.Lock()
	in.closed = true
	in.n = 0
	in.mu.Unlock()
}
