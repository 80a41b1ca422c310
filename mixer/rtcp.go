package mixer

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"

	"github.com/pion/rtcp"
)

// rtcpEvery is the RTCP report interval in ticks (5 s, RFC 3550's minimum).
const rtcpEvery = 250

// ntpEpochOffset is the seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// rtcpState is the per-leg RTCP state (RFC 3550 section 6).
type rtcpState struct {
	buf     [maxDatagram]byte
	out     [28 + 24]byte
	sa      syscall.RawSockaddrAny
	drainF  func(fd uintptr) bool
	remote  netip.AddrPort
	latched bool
	byeSeen bool

	lsr     uint32 // middle 32 bits of the NTP time of the last SR received
	lsrTick uint64
	haveLSR bool

	tsJumps      uint64 // timestamp jumps already reported to metrics
	prevExpected uint32
	prevReceived uint64
}

func (l *Leg) initRTCP() {
	r := &l.rtcp
	r.drainF = func(fd uintptr) bool {
		for {
			n, from, err := recvFrom(fd, r.buf[:], &r.sa)
			if err != nil {
				return true
			}
			l.handleRTCP(r.buf[:n], from)
		}
	}
}

// handleRTCP reads a compound RTCP packet: sender reports feed our receiver
// reports' LSR/DLSR, a BYE becomes EventRTCPBye. Parsing allocates, which is
// fine at RTCP's rate of one packet every few seconds.
func (l *Leg) handleRTCP(b []byte, from netip.AddrPort) {
	r := &l.rtcp
	// RTCP latches on its own port but only from the host media comes from
	// (or SDP named): a stranger's BYE must not hang up a call.
	if (r.latched && from != r.remote) || (!r.latched && l.out.remote.IsValid() && from.Addr() != l.out.remote.Addr()) {
		l.m.met.dropped[dropSource].Inc()
		return
	}
	if len(b) < 8 || b[0]>>6 != 2 {
		l.m.met.dropped[dropRTCP].Inc()
		return
	}
	if l.srtp != nil {
		if b = l.unprotectRTCP(b); b == nil {
			return
		}
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		l.m.met.dropped[dropRTCP].Inc()
		return
	}
	if !r.latched {
		r.remote = from
		r.latched = true
	}
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			r.lsr = uint32(p.NTPTime >> 16)
			r.lsrTick = l.tick
			r.haveLSR = true
		case *rtcp.Goodbye:
			if !r.byeSeen && l.byeIsForUs(p.Sources) {
				r.byeSeen = true
				l.m.emit(Event{Kind: EventRTCPBye, Room: l.room.name, LegID: l.id})
			}
		}
	}
}

// byeIsForUs reports whether a BYE names the stream we receive (any BYE
// counts before media has arrived).
func (l *Leg) byeIsForUs(sources []uint32) bool {
	if !l.rx.haveSSR {
		return true
	}
	for _, s := range sources {
		if s == l.rx.ssrc {
			return true
		}
	}
	return false
}

// maybeSendRTCP sends a sender report (or a receiver report while nothing is
// sent) every rtcpEvery ticks, spread over the ticks by leg id.
func (l *Leg) maybeSendRTCP(now time.Time) {
	if (l.tick+l.id)%rtcpEvery != 0 {
		return
	}
	st := l.rx.jb.Stats()
	l.m.met.jitter.Observe(float64(st.Jitter) / float64(l.media.info.ClockRate))
	if st.TimestampJumps > l.rtcp.tsJumps {
		l.m.met.tsJumps.Add(float64(st.TimestampJumps - l.rtcp.tsJumps))
	}
	l.rtcp.tsJumps = st.TimestampJumps
	if l.tx != nil {
		return // a packet leg's owner runs RTCP on its own transport
	}
	dst := l.rtcp.remote
	if !l.rtcp.latched {
		if !l.out.remote.IsValid() {
			return
		}
		dst = netip.AddrPortFrom(l.out.remote.Addr(), l.out.remote.Port()+1)
	}
	r := &l.rtcp
	b := r.out[:]
	rc := 0
	if l.rx.haveSSR {
		rc = 1
	}
	sr := l.out.packets > 0 && !l.held.Load()
	var n int
	if sr {
		b[1] = 200
		binary.BigEndian.PutUint32(b[4:], l.out.ssrc)
		ntp := toNTP(now)
		binary.BigEndian.PutUint64(b[8:], ntp)
		binary.BigEndian.PutUint32(b[16:], l.out.ts)
		binary.BigEndian.PutUint32(b[20:], l.out.packets)
		binary.BigEndian.PutUint32(b[24:], l.out.octets)
		n = 28
	} else {
		b[1] = 201
		binary.BigEndian.PutUint32(b[4:], l.out.ssrc)
		n = 8
	}
	if rc == 1 {
		blk := b[n : n+24]
		expected := st.Expected
		lostTotal := int64(expected) - int64(st.ReceivedSinceStart)
		if lostTotal < 0 {
			lostTotal = 0
		}
		expInt := expected - r.prevExpected
		recInt := st.ReceivedSinceStart - r.prevReceived
		r.prevExpected, r.prevReceived = expected, st.ReceivedSinceStart
		var frac uint32
		if expInt > 0 && uint64(expInt) > recInt {
			frac = uint32((uint64(expInt) - recInt) << 8 / uint64(expInt))
		}
		binary.BigEndian.PutUint32(blk[0:], l.rx.ssrc)
		binary.BigEndian.PutUint32(blk[4:], frac<<24|uint32(min(lostTotal, 0x7fffff)))
		binary.BigEndian.PutUint32(blk[8:], uint32(st.HighestSeq))
		binary.BigEndian.PutUint32(blk[12:], st.Jitter)
		var lsr, dlsr uint32
		if r.haveLSR {
			lsr = r.lsr
			dlsr = uint32(time.Duration(l.tick-r.lsrTick) * Frame * 65536 / time.Second)
		}
		binary.BigEndian.PutUint32(blk[16:], lsr)
		binary.BigEndian.PutUint32(blk[20:], dlsr)
		n += 24
	}
	b[0] = 2<<6 | byte(rc)
	binary.BigEndian.PutUint16(b[2:], uint16(n/4-1))
	out := b[:n]
	if l.srtp != nil {
		if out = l.protectRTCP(out); out == nil {
			return
		}
	}
	l.rtcpConn.WriteToUDPAddrPort(out, dst)
}

func toNTP(t time.Time) uint64 {
	sec := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return sec<<32 | frac
}
