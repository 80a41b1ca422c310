package mixer

import (
	"encoding/binary"
	"math"
	"sync/atomic"
	"time"

	"cusax.dev/bridge/mixer/codec"
)

// room mixes its legs on its own 20 ms clock. Everything but pending and
// changed belongs to the worker that clocks it.
type room struct {
	name   string
	m      *Mixer
	worker *worker
	next   time.Time // deadline of the next tick

	pending []*Leg        // legs added since the last tick, under m.mu
	ports   []*sharedPort // the room's shared ports in use, under m.mu
	changed atomic.Bool   // pending legs or a closed leg to reconcile

	n uint64 // ticks so far
	// received and sent count packets during a tick; they reach the
	// shared counters once per tick instead of once per packet.
	received, sent uint64
	legs           []*Leg
	shared         []*sharedPort // ports as of the last reconcile
	groups         []*codecGroup
	mixSet         []*Leg // this tick's mixed talkers, loudest first
	sum            [codec.FrameSamples]int32
	mix            [codec.FrameSamples]int16
	own            [codec.FrameSamples]int16

	dominant  *Leg
	challenge *Leg
	chalTicks int

	ann promptQueue // announcements into everyone's mix (prompt.go)
}

// codecGroup is what listeners sharing a codec share: one encode of the full
// mix for everyone who is not in it, and one encode of silence for the deaf.
// Encoders are stateful (G.722, Opus), so the shared stream has encoders of
// its own, apart from each talker's.
type codecGroup struct {
	name       string
	enc, sil   codec.Encoder
	mixN, silN int
	mixDone    bool
	silDone    bool
	mixBuf     [codec.MaxPayload]byte
	silBuf     [codec.MaxPayload]byte
	silence    [codec.FrameSamples]int16
}

func newRoom(m *Mixer, name string, w *worker) *room {
	r := &room{name: name, m: m, worker: w}
	r.changed.Store(true)
	return r
}

func (r *room) group(name string) *codecGroup {
	for _, g := range r.groups {
		if g.name == name {
			return g
		}
	}
	enc, err := codec.NewEncoder(name)
	if err != nil {
		return nil
	}
	sil, err := codec.NewEncoder(name)
	if err != nil {
		return nil
	}
	g := &codecGroup{name: name, enc: enc, sil: sil}
	r.groups = append(r.groups, g)
	return g
}

// reconcile adopts new legs and forgets closed ones. It reports false when
// the room is empty and has been removed from the mixer.
func (r *room) reconcile() bool {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	for _, l := range r.pending {
		if l.closed.Load() {
			continue
		}
		l.lastRecv = r.n
		r.legs = append(r.legs, l)
		if l.shared != nil {
			l.shared.join(l)
		}
	}
	clear(r.pending)
	r.pending = r.pending[:0]
	kept := r.legs[:0]
	for _, l := range r.legs {
		if l.closed.Load() {
			if l.shared != nil {
				l.shared.leave(l)
			}
			l.prompts.drop()
			if l.talk.talking {
				l.talk.talking = false
				r.m.emit(Event{Kind: EventTalking, Room: r.name, LegID: l.id, Talking: false})
			}
			if r.dominant == l {
				r.dominant = nil
			}
			if r.challenge == l {
				r.challenge = nil
			}
			continue
		}
		kept = append(kept, l)
	}
	clear(r.legs[len(kept):])
	r.legs = kept
	clear(r.shared)
	r.shared = append(r.shared[:0], r.ports...)
	if len(r.legs) == 0 {
		if r.m.rooms[r.name] == r {
			delete(r.m.rooms, r.name)
			r.m.met.rooms.Dec()
		}
		return false
	}
	return true
}

// shutdown forgets the room when the mixer stops.
func (r *room) shutdown() {
	r.m.mu.Lock()
	if r.m.rooms[r.name] == r {
		delete(r.m.rooms, r.name)
		r.m.met.rooms.Dec()
	}
	r.m.mu.Unlock()
}

// tick runs one 20 ms frame: take in media, pick the talkers, mix, encode
// and send. It reports false once the room is empty and gone.
func (r *room) tick(now time.Time) bool {
	r.n++
	if r.changed.Swap(false) && !r.reconcile() {
		return false
	}
	if r.n%rtcpEvery == 0 {
		r.m.met.roomLegs.Observe(float64(len(r.legs)))
	}
	maxK := r.m.cfg.MaxTalkers
	r.mixSet = r.mixSet[:0]
	for _, l := range r.legs {
		l.applyPending()
		if l.media.group == nil || l.media.group.name != l.media.info.Name {
			l.media.group = r.group(l.media.info.Name)
		}
		l.drain(r.n)
	}
	if !r.m.noIO {
		for _, sp := range r.shared {
			sp.drain()
			if (r.n+uint64(sp.port))%rtcpDrainEvery == 0 {
				sp.drainRTCP()
			}
		}
	}
	for _, l := range r.legs {
		silenced := l.muted.Load() || l.held.Load() || l.closed.Load()
		if l.wasSilenced && !silenced {
			// Measure it afresh: what it sent while silenced never
			// made it talk, and its VAD may by now call a steady
			// sound voiceless.
			l.rx.probe = probeTicks
		}
		l.wasSilenced = silenced
		l.pull()
		if l.talk.update(l.rx.energy, silenced) {
			r.m.emit(Event{Kind: EventTalking, Room: r.name, LegID: l.id, Talking: l.talk.talking})
		}
		l.inMix = false
		if !silenced && l.talk.candidate(l.rx.energy) {
			r.mixSet = insertLoudest(r.mixSet, l, maxK)
		}
	}
	clear(r.sum[:])
	for _, l := range r.mixSet {
		l.inMix = true
		l.ensurePCM()
		for i, s := range l.rx.frame {
			r.sum[i] += int32(s)
		}
	}
	for _, l := range r.legs {
		if !l.inMix {
			l.skipPCM()
		}
	}
	r.mixAnnouncement()
	for i, v := range r.sum {
		r.mix[i] = sat16(v)
	}
	r.updateDominant()
	for _, g := range r.groups {
		g.mixDone, g.silDone = false, false
	}
	for _, l := range r.legs {
		r.sendTo(l)
		l.prompts.advance()
		r.checkTimeout(l)
		l.maybeSendRTCP(now)
	}
	for _, sp := range r.shared {
		sp.flush()
	}
	r.ann.advance()
	r.flushCounters()
	return true
}

func (r *room) flushCounters() {
	if r.received > 0 {
		r.m.met.received.Add(float64(r.received))
		r.received = 0
	}
	if r.sent > 0 {
		r.m.met.sent.Add(float64(r.sent))
		r.sent = 0
	}
}

// insertLoudest keeps set sorted by level, loudest first, at most k long.
func insertLoudest(set []*Leg, l *Leg, k int) []*Leg {
	e := l.rx.energy
	if len(set) == k && set[k-1].rx.energy >= e {
		return set
	}
	if len(set) < k {
		set = append(set, nil)
	}
	i := len(set) - 1
	for i > 0 && set[i-1].rx.energy < e {
		set[i] = set[i-1]
		i--
	}
	set[i] = l
	return set
}

func sat16(v int32) int16 {
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

// sendTo sends the leg its frame: silence if deaf, its own N-1 mix if it is
// one of the mixed talkers, else its codec group's shared mix.
func (r *room) sendTo(l *Leg) {
	ticks := l.media.info.FrameTicks
	if l.closed.Load() {
		return
	}
	if l.held.Load() {
		l.wasHeld = true
		l.out.ts += ticks
		return
	}
	if l.wasHeld {
		l.wasHeld = false
		l.out.marker = true
		l.lastRecv = r.n
	}
	g := l.media.group
	if g == nil {
		return
	}
	if !l.out.remote.IsValid() {
		l.out.ts += ticks
		return
	}
	var n int
	var err error
	payload := l.out.buf[12:]
	switch {
	case l.prompts.current() != nil:
		n = l.promptFrame(payload)
	case l.deaf.Load():
		if !g.silDone {
			g.silN, err = g.sil.Encode(g.silence[:], g.silBuf[:])
			g.silDone = err == nil
		}
		n = copy(payload, g.silBuf[:g.silN])
	case r.leftOut(l):
		n, err = r.encodeLeftOut(l, payload)
	case l.inMix:
		f := &l.rx.frame
		for i, v := range r.sum {
			r.own[i] = sat16(v - int32(f[i]))
		}
		n, err = l.media.enc.Encode(r.own[:], payload)
	default:
		if !g.mixDone {
			g.mixN, err = g.enc.Encode(r.mix[:], g.mixBuf[:])
			g.mixDone = err == nil
		}
		n = copy(payload, g.mixBuf[:g.mixN])
	}
	if err != nil || n == 0 {
		l.out.ts += ticks
		return
	}
	b := l.out.buf[:12+n]
	b[0] = 2 << 6
	b[1] = l.media.pt & 0x7f
	if l.out.marker {
		b[1] |= 0x80
		l.out.marker = false
	}
	binary.BigEndian.PutUint16(b[2:], l.out.seq)
	binary.BigEndian.PutUint32(b[4:], l.out.ts)
	binary.BigEndian.PutUint32(b[8:], l.out.ssrc)
	l.out.seq++
	l.out.ts += ticks
	if r.m.noIO {
		l.out.packets++
		l.out.octets += uint32(n)
		return
	}
	if err := l.writeRTP(b); err == nil {
		l.out.packets++
		l.out.octets += uint32(n)
		r.sent++
	}
}

// checkTimeout reports a leg that has sent no RTP for Config.RTPTimeout;
// hold restarts the count.
func (r *room) checkTimeout(l *Leg) {
	if l.held.Load() {
		l.lastRecv = r.n
		return
	}
	if l.timedOut {
		return
	}
	limit := uint64(r.m.cfg.RTPTimeout / Frame)
	if r.n-l.lastRecv >= limit {
		l.timedOut = true
		r.m.emit(Event{Kind: EventRTPTimeout, Room: r.name, LegID: l.id})
	}
}

// updateDominant elects the room's dominant speaker: the talker with the
// highest smoothed level, who must stay ahead for dominantTicks before
// taking over from a current dominant speaker who is still talking.
func (r *room) updateDominant() {
	var best *Leg
	for _, l := range r.legs {
		if l.talk.talking && (best == nil || l.talk.smooth > best.talk.smooth) {
			best = l
		}
	}
	if best == nil || best == r.dominant {
		r.challenge, r.chalTicks = nil, 0
		return
	}
	if r.dominant != nil && r.dominant.talk.talking {
		if best != r.challenge {
			r.challenge, r.chalTicks = best, 0
		}
		r.chalTicks++
		if r.chalTicks < dominantTicks {
			return
		}
	}
	r.dominant = best
	r.challenge, r.chalTicks = nil, 0
	r.m.emit(Event{Kind: EventDominantSpeaker, Room: r.name, LegID: best.id})
}
