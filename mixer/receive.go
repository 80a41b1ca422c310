package mixer

import (
	"net/netip"

	"cusax.dev/bridge/mixer/codec"
	"cusax.dev/bridge/mixer/jitter"
)

// drain reads every datagram waiting on the leg's sockets without blocking.
// The worker calls it once per tick: media is taken in at the room's pace, so
// no goroutine per leg wakes up per packet.
func (l *Leg) drain(tick uint64) {
	l.tick = tick
	if l.closed.Load() || l.m.noIO {
		return
	}
	if l.tx != nil {
		l.inbox.drain(l)
		return
	}
	if l.shared != nil {
		return // the room drains the port for all its legs
	}
	l.rtpConn.Read(l.rx.drainF)
	// RTCP comes every few seconds; looking twice a second saves a system
	// call per leg per tick.
	if (tick+l.id)%rtcpDrainEvery == 0 {
		l.rtcpConn.Read(l.rtcp.drainF)
	}
}

// rtcpDrainEvery is how often (in ticks) a leg's RTCP socket is read.
const rtcpDrainEvery = 25

// handleRTP validates one datagram and files it: media to the jitter buffer,
// telephone events to the DTMF decoder. Bad input is dropped and counted.
func (l *Leg) handleRTP(b []byte, from netip.AddrPort) {
	met := l.m.met
	if len(b) < 12 || b[0]>>6 != 2 {
		met.dropped[dropMalformed].Inc()
		return
	}
	if l.out.latched && from != l.out.remote {
		met.dropped[dropSource].Inc()
		return
	}
	if l.srtp != nil {
		// Authenticated before anything else reads it: a forged packet
		// neither latches the leg nor reaches the mix.
		if b = l.unprotect(b); b == nil {
			return
		}
	}
	p := &l.rx.pkt
	if err := p.Unmarshal(b); err != nil {
		met.dropped[dropMalformed].Inc()
		return
	}
	pt := p.PayloadType
	isEvent := l.media.tePT != 0 && pt == l.media.tePT
	if !isEvent && pt != l.media.pt {
		met.dropped[dropPayloadType].Inc()
		return
	}
	if len(p.Payload) == 0 {
		met.dropped[dropEmpty].Inc()
		return
	}
	if len(p.Payload) > codec.MaxPayload {
		met.dropped[dropOversized].Inc()
		return
	}
	if !l.out.latched {
		// Symmetric RTP (RFC 4961): answer where the media comes from,
		// whatever SDP said, and from now on hear nobody else.
		l.out.remote = from
		l.out.latched = true
	}
	l.lastRecv = l.tick
	l.timedOut = false
	if isEvent {
		l.dtmf.handle(l, p.SSRC, p.Timestamp, p.Payload)
		return
	}
	arrival := uint32(l.tick) * l.media.info.FrameTicks
	switch l.rx.jb.Push(p.SequenceNumber, p.Timestamp, p.SSRC, arrival, p.Payload) {
	case jitter.Accepted, jitter.Resync:
		l.room.received++
		l.rx.ssrc = p.SSRC
		l.rx.haveSSR = true
	case jitter.Late:
		met.late.Inc()
	case jitter.Duplicate:
		met.dropped[dropDuplicate].Inc()
	case jitter.Jump:
		met.dropped[dropJump].Inc()
	case jitter.Oversized:
		met.dropped[dropOversized].Inc()
	}
}

// pull produces this tick's 20 ms of the leg's audio at 16 kHz in rx.frame
// (or, for a frame taken undecoded, only its level) and sets rx.energy.
func (l *Leg) pull() {
	rx := &l.rx
	rx.lazyP = nil
	skipVoiceless := l.media.vad != nil && !l.talk.talking && !l.probing()
	if rx.probe > 0 {
		rx.probe--
	}
	if rx.fifoLen == 0 && (l.media.lazy != nil || skipVoiceless) {
		payload, st := rx.jb.Pop()
		if st == jitter.Ready && l.takeUndecoded(payload) {
			rx.conceal = 0
			return
		}
		if st == jitter.Empty {
			// Pop once per tick when there is nothing: a second Pop would
			// count as another tick of buffering.
			l.silenceOrFade()
			return
		}
		l.fill(payload, st)
	}
	for rx.fifoLen < codec.FrameSamples {
		payload, st := rx.jb.Pop()
		if st == jitter.Empty {
			break
		}
		l.fill(payload, st)
	}
	if rx.fifoLen == 0 {
		l.silenceOrFade()
		return
	}
	n := copy(rx.frame[:], rx.fifo[:rx.fifoLen])
	clear(rx.frame[n:])
	copy(rx.fifo[:], rx.fifo[n:rx.fifoLen])
	rx.fifoLen -= n
	rx.energy = meanSquare(rx.frame[:])
	rx.last = rx.frame
	rx.haveLst = true
}

// A leg's VAD flags are not trusted alone: a sender's VAD may call a steady
// sound (a tone, music) voiceless once it has settled on it, and a leg that
// is not talking would then never be heard. So a quiet leg's frames are all
// decoded for probeTicks ticks every probeEvery ticks, and for probeTicks
// ticks after it is unmuted or taken off hold: enough for the talk detector
// to see a loud sound twice (startTicks) after the decoder's reset.
const (
	probeEvery = 50 // 1 s
	probeTicks = 4
)

// probing reports whether this tick's frame is decoded whatever its VAD flag
// says.
func (l *Leg) probing() bool {
	return l.rx.probe > 0 || (l.tick+l.id)%probeEvery < probeTicks
}

// takeUndecoded takes this tick's frame without decoding it where it can: a
// G.711 frame is measured and held until it is mixed; an Opus frame whose
// sender heard no voice is skipped, as its leg is not talking (pull checks):
// a talker's quiet frames are still decoded, so the ends of words stay in.
func (l *Leg) takeUndecoded(payload []byte) bool {
	rx := &l.rx
	if l.media.lazy != nil {
		ms, n := l.media.lazy.Level(payload)
		if n != codec.FrameSamples {
			return false
		}
		rx.lazyP = payload
		rx.energy = ms
		return true
	}
	if !l.media.vad.Inactive(payload) {
		return false
	}
	rx.skipped = true
	rx.haveLst = false
	rx.energy = 0
	return true
}

// resetIfSkipped starts the decoder afresh when frames went undecoded: its
// history no longer matches the stream.
func (l *Leg) resetIfSkipped() {
	if !l.rx.skipped {
		return
	}
	l.rx.skipped = false
	switch {
	case l.media.lazy != nil:
		l.media.lazy.Reset()
	case l.media.vad != nil:
		l.media.vad.Reset()
	}
}

// fill appends one popped jitter-buffer entry, decoded or concealed, to the
// leg's 16 kHz FIFO.
func (l *Leg) fill(payload []byte, st jitter.Status) {
	rx := &l.rx
	var n int
	if st == jitter.Ready || st == jitter.Lost {
		// Before concealing too: Opus conceals from its history.
		l.resetIfSkipped()
	}
	switch st {
	case jitter.Ready:
		var err error
		n, err = l.media.dec.Decode(payload, rx.dbuf[:])
		if err != nil {
			l.m.met.dropped[dropDecode].Inc()
			n = l.concealInto(rx.dbuf[:codec.FrameSamples])
		} else {
			rx.conceal = 0
		}
	case jitter.Lost:
		l.m.met.lost.Inc()
		n = l.concealInto(rx.dbuf[:codec.FrameSamples])
	default:
		return
	}
	if n > len(rx.fifo)-rx.fifoLen {
		// Cannot happen with the sizes above; keep the newest audio.
		rx.fifoLen = 0
	}
	copy(rx.fifo[rx.fifoLen:], rx.dbuf[:n])
	rx.fifoLen += n
}

// concealInto writes a stand-in for a lost frame: the codec's own
// concealment when it has one (Opus), else the last good frame repeated with
// a fading gain (1/2, 1/4, then silence).
func (l *Leg) concealInto(pcm []int16) int {
	rx := &l.rx
	rx.conceal++
	if n := l.media.dec.Conceal(pcm, len(pcm)); n > 0 {
		return n
	}
	if !rx.haveLst || rx.conceal > 2 {
		clear(pcm)
		return len(pcm)
	}
	shift := uint(rx.conceal)
	for i := range pcm {
		pcm[i] = rx.last[i%len(rx.last)] >> shift
	}
	return len(pcm)
}

// silenceOrFade fills a tick with nothing to play: a short fade right after
// audio (an underrun mid-speech), silence otherwise.
func (l *Leg) silenceOrFade() {
	rx := &l.rx
	if rx.haveLst && rx.conceal < 2 {
		l.concealInto(rx.frame[:])
		rx.energy = meanSquare(rx.frame[:])
		return
	}
	if l.media.lazy != nil {
		rx.skipped = true
	}
	rx.haveLst = false
	clear(rx.frame[:])
	rx.energy = 0
}

// ensurePCM decodes a lazily held G.711 frame now that it is to be mixed.
func (l *Leg) ensurePCM() {
	rx := &l.rx
	if rx.lazyP == nil {
		return
	}
	l.resetIfSkipped()
	n, err := l.media.dec.Decode(rx.lazyP, rx.frame[:])
	if err != nil || n != codec.FrameSamples {
		clear(rx.frame[:])
	}
	rx.lazyP = nil
	rx.last = rx.frame
	rx.haveLst = true
}

// skipPCM records that a lazy frame was not decoded.
func (l *Leg) skipPCM() {
	if l.rx.lazyP != nil {
		l.rx.lazyP = nil
		l.rx.skipped = true
		l.rx.haveLst = false
	}
}

func meanSquare(pcm []int16) int64 {
	var sum int64
	for _, s := range pcm {
		v := int64(s)
		sum += v * v
	}
	return sum / int64(len(pcm))
}
