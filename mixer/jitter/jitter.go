// Package jitter is the mixer's adaptive RTP jitter buffer: it puts packets
// back in sequence order, drops duplicates and late or absurd packets, follows
// sequence-number wrap, timestamp jumps and SSRC changes, and sizes its delay
// from the RFC 3550 section 6.4.1 interarrival jitter and the late packets it
// sees.
//
// Playout is by sequence number: each Pop hands out the next packet (or
// reports it lost), so a sender that pauses (silence suppression, DTX) and
// resumes with a timestamp jump simply plays on. The buffer stores copies of
// payloads in preallocated slots and allocates nothing after New.
package jitter

// Config sizes a Buffer. Zero values get the defaults in parentheses.
type Config struct {
	// Slots is the ring size in packets, a power of two (16: 320 ms of
	// 20 ms packets).
	Slots int
	// MaxPayload is the longest payload kept (1440 bytes); longer ones are
	// refused.
	MaxPayload int
	// MinDelay and MaxDelay bound the adaptive target delay, in packets
	// (1 and Slots/2).
	MinDelay, MaxDelay int
	// FrameTicks is the RTP timestamp length of one packet (160 for 20 ms
	// at 8 kHz), used to turn jitter into a delay in packets.
	FrameTicks uint32
}

// Result says what Push did with a packet.
type Result int

// Push results. Everything but Accepted and Resync means the packet was
// dropped.
const (
	Accepted  Result = iota // stored for playout
	Resync                  // stored, after the stream restarted (new SSRC or confirmed jump)
	Duplicate               // a copy of a packet already buffered
	Late                    // its turn to play has passed
	Jump                    // an absurd sequence jump, not (yet) confirmed by a follower
	Oversized               // payload longer than MaxPayload
)

var resultNames = [...]string{"accepted", "resync", "duplicate", "late", "jump", "oversized"}

// String names the result for logs and metrics.
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// Status says what Pop returned.
type Status int

// Pop statuses.
const (
	Ready Status = iota // a packet to decode
	Lost                // the next packet is missing while later ones wait: conceal it
	Empty               // nothing to play (not started, underrun or idle sender)
)

// Stats are running counters for metrics and RTCP receiver reports.
type Stats struct {
	Received   uint64 // packets accepted
	Duplicates uint64
	Late       uint64
	Jumps      uint64 // absurd sequence jumps dropped
	Oversized  uint64
	Lost       uint64 // gaps reported by Pop
	Resyncs    uint64 // restarts after an SSRC change or a confirmed jump
	Underruns  uint64
	// TimestampJumps counts packets whose timestamp moved far from what
	// their arrival time predicts (a sender's pause or restart). They are
	// played, not dropped: sequence numbers decide playout.
	TimestampJumps uint64
	// Jitter is the RFC 3550 interarrival jitter estimate in timestamp units.
	Jitter uint32
	// HighestSeq is the extended highest sequence number received (cycles
	// in the high 16 bits), as RTCP reception reports carry it.
	HighestSeq uint32
	// Expected is how many packets the sequence numbers say were sent since
	// the stream (re)started; Expected minus the packets received since then
	// is the cumulative loss.
	Expected uint32
	// ReceivedSinceStart counts accepted packets since the stream (re)started.
	ReceivedSinceStart uint64
}

const (
	// maxDropout and maxMisorder follow RFC 3550 appendix A.1 (scaled for
	// 20 ms packets): a sequence number further than this from the
	// expected one is an absurd jump until a second packet confirms it.
	maxDropout  = 3000
	maxMisorder = 100
	// adaptEvery is how many Pops without a late packet let the target
	// delay shrink by one packet (5 s of 20 ms packets).
	adaptEvery = 250
	// maxTransitStep bounds one transit-time difference (in frames) that
	// feeds the jitter estimate; a bigger one is a timestamp jump, which
	// restarts the estimate instead of poisoning it.
	maxTransitStep = 50
)

type slot struct {
	ext  int64 // extended sequence number held, valid if used
	used bool
	n    int
}

// Buffer is one stream's jitter buffer. It is not safe for concurrent use.
type Buffer struct {
	cfg   Config
	mask  int64
	slots []slot
	data  []byte

	started  bool // a first packet has set the sequence base
	ssrc     uint32
	highest  int64 // extended highest sequence number received
	base     int64 // extended sequence number the stream (re)started at
	recvBase uint64
	next     int64 // extended sequence number Pop plays next
	count    int   // packets held
	playing  bool  // false while (re)buffering
	waited   int   // Pops spent buffering with packets held
	probe    int64 // sequence number that would confirm a jump, or -1
	probeSeq uint16

	target    int
	sinceLate int

	transit     int64
	haveTransit bool
	jitter      float64

	stats Stats
}

// New returns an empty buffer.
func New(cfg Config) *Buffer {
	if cfg.Slots <= 0 {
		cfg.Slots = 16
	}
	for cfg.Slots&(cfg.Slots-1) != 0 {
		cfg.Slots++
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 1440
	}
	if cfg.MinDelay <= 0 {
		cfg.MinDelay = 1
	}
	if cfg.MaxDelay <= 0 || cfg.MaxDelay > cfg.Slots-2 {
		cfg.MaxDelay = cfg.Slots / 2
	}
	if cfg.MinDelay > cfg.MaxDelay {
		cfg.MinDelay = cfg.MaxDelay
	}
	if cfg.FrameTicks == 0 {
		cfg.FrameTicks = 160
	}
	return &Buffer{
		cfg:    cfg,
		mask:   int64(cfg.Slots - 1),
		slots:  make([]slot, cfg.Slots),
		data:   make([]byte, cfg.Slots*cfg.MaxPayload),
		target: cfg.MinDelay + 1,
		probe:  -1,
	}
}

// SetFrameTicks changes the timestamp length of one packet (after a codec
// change) and restarts the stream.
func (b *Buffer) SetFrameTicks(t uint32) {
	if t == 0 {
		t = 160
	}
	b.cfg.FrameTicks = t
	b.Reset()
}

// Reset forgets every packet and the sequence state, keeping counters and the
// learnt target delay.
func (b *Buffer) Reset() {
	for i := range b.slots {
		b.slots[i].used = false
	}
	b.count = 0
	b.started = false
	b.playing = false
	b.waited = 0
	b.probe = -1
	b.haveTransit = false
}

// Target is the current target delay in packets.
func (b *Buffer) Target() int { return b.target }

// Len is the number of packets held.
func (b *Buffer) Len() int { return b.count }

// Stats returns the running counters.
func (b *Buffer) Stats() Stats {
	s := b.stats
	s.Jitter = uint32(b.jitter)
	if b.started {
		s.HighestSeq = uint32(b.highest - 1<<16)
		s.Expected = uint32(b.highest - b.base + 1)
		s.ReceivedSinceStart = b.stats.Received - b.recvBase
	}
	return s
}

// extend places a 16-bit sequence number on the extended line nearest to ref.
func extend(seq uint16, ref int64) int64 {
	d := int64(int16(seq - uint16(ref)))
	return ref + d
}

// Push offers a packet received at arrival (a clock in the stream's timestamp
// units). The payload is copied.
func (b *Buffer) Push(seq uint16, ts uint32, ssrc uint32, arrival uint32, payload []byte) Result {
	if len(payload) > b.cfg.MaxPayload {
		b.stats.Oversized++
		return Oversized
	}
	res := Accepted
	if b.started && ssrc != b.ssrc {
		b.Reset()
		b.stats.Resyncs++
		res = Resync
	}
	if !b.started {
		b.started = true
		b.ssrc = ssrc
		// Start the extended line high enough that it never goes negative.
		b.highest = 1<<16 + int64(seq)
		b.base, b.recvBase = b.highest, b.stats.Received
		b.next = b.highest
		b.store(b.highest, payload)
		b.updateJitter(ts, arrival)
		b.stats.Received++
		return res
	}
	ext := extend(seq, b.highest)
	delta := ext - b.highest
	if delta > maxDropout || delta < -maxMisorder {
		if b.probe >= 0 && seq == b.probeSeq {
			// Two packets in a row agree on the new numbering: restart.
			b.Reset()
			b.stats.Resyncs++
			b.started = true
			b.ssrc = ssrc
			b.highest = 1<<16 + int64(seq)
			b.base, b.recvBase = b.highest, b.stats.Received
			b.next = b.highest
			b.store(b.highest, payload)
			b.updateJitter(ts, arrival)
			b.stats.Received++
			return Resync
		}
		b.probe = 1
		b.probeSeq = seq + 1
		b.stats.Jumps++
		return Jump
	}
	b.probe = -1
	if ext < b.next {
		b.stats.Late++
		b.sinceLate = 0
		if b.target < b.cfg.MaxDelay {
			b.target++
		}
		return Late
	}
	if ext >= b.next+int64(len(b.slots)) {
		// Far ahead of playout (a burst after a long stall): give up the
		// oldest positions so the newest packets fit.
		newNext := ext - int64(len(b.slots)) + 1
		for e := b.next; e < newNext; e++ {
			s := &b.slots[e&b.mask]
			if s.used && s.ext == e {
				s.used = false
				b.count--
			}
		}
		b.stats.Lost += uint64(newNext - b.next)
		b.next = newNext
	}
	s := &b.slots[ext&b.mask]
	if s.used && s.ext == ext {
		b.stats.Duplicates++
		return Duplicate
	}
	b.store(ext, payload)
	if ext > b.highest {
		b.highest = ext
	}
	b.updateJitter(ts, arrival)
	b.stats.Received++
	return res
}

func (b *Buffer) store(ext int64, payload []byte) {
	i := ext & b.mask
	s := &b.slots[i]
	if !s.used {
		b.count++
	}
	s.used = true
	s.ext = ext
	s.n = copy(b.data[int(i)*b.cfg.MaxPayload:], payload)
}

// updateJitter is RFC 3550 section 6.4.1's estimator, restarted on a
// timestamp jump.
func (b *Buffer) updateJitter(ts, arrival uint32) {
	transit := int64(int32(arrival - ts))
	if !b.haveTransit {
		b.transit = transit
		b.haveTransit = true
		return
	}
	d := transit - b.transit
	b.transit = transit
	if d < 0 {
		d = -d
	}
	if d > maxTransitStep*int64(b.cfg.FrameTicks) {
		b.stats.TimestampJumps++
		return
	}
	b.jitter += (float64(d) - b.jitter) / 16
}

// Pop returns the next packet to play. The payload stays valid until the
// next Push.
func (b *Buffer) Pop() ([]byte, Status) {
	b.adapt()
	if !b.playing {
		if b.count == 0 {
			return nil, Empty
		}
		b.waited++
		if b.count < b.target && b.waited < b.target {
			return nil, Empty
		}
		// Start with the oldest packet held.
		for e := b.next; e <= b.highest; e++ {
			s := &b.slots[e&b.mask]
			if s.used && s.ext == e {
				b.next = e
				break
			}
		}
		b.playing = true
		b.waited = 0
	}
	s := &b.slots[b.next&b.mask]
	if s.used && s.ext == b.next {
		s.used = false
		b.count--
		i := int(b.next & b.mask)
		b.next++
		off := i * b.cfg.MaxPayload
		return b.data[off : off+s.n], Ready
	}
	if b.count > 0 {
		b.next++
		b.stats.Lost++
		return nil, Lost
	}
	b.playing = false
	b.stats.Underruns++
	return nil, Empty
}

// adapt moves the target delay toward what the measured jitter needs, growing
// at once (Push does that on a late packet) and shrinking slowly.
func (b *Buffer) adapt() {
	b.sinceLate++
	if b.sinceLate < adaptEvery {
		return
	}
	b.sinceLate = 0
	want := 1 + int((2*b.jitter+float64(b.cfg.FrameTicks)-1)/float64(b.cfg.FrameTicks))
	if want < b.cfg.MinDelay {
		want = b.cfg.MinDelay
	}
	if b.target > want {
		b.target--
	} else if want > b.target && b.target < b.cfg.MaxDelay {
		b.target++
	}
}
