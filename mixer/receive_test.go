package mixer

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"cusax.dev/bridge/mixer/codec"
)

// eventLog collects events for assertions.
type eventLog struct {
	mu sync.Mutex
	ev []Event
}

func (e *eventLog) add(ev Event) {
	e.mu.Lock()
	e.ev = append(e.ev, ev)
	e.mu.Unlock()
}

func (e *eventLog) of(kind EventKind) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.ev {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func dropped(m *Mixer, reason string) float64 { return counterValue(m.met.dropped[reason]) }

func counterValue(c prometheus.Counter) float64 {
	var pb dto.Metric
	if err := c.Write(&pb); err != nil {
		panic(err)
	}
	return pb.GetCounter().GetValue()
}

func rtpBytes(t testing.TB, pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadInputDroppedAndCounted: each kind of bad datagram is refused with
// its own counter and leaves the leg's audio alone.
func TestBadInputDroppedAndCounted(t *testing.T) {
	h := newHarness(t, codec.PCMU, 2, Config{})
	h.tones[0] = tone(800)
	h.run(10)
	l := h.legs[0]
	from := h.peers[0].LocalAddr().(interface{ String() string })
	_ = from
	src := l.out.remote
	good := rtpBytes(t, 96, 1, 0, 0xabc0, make([]byte, 160))
	hugeCSRC := append([]byte(nil), good...)
	hugeCSRC[0] |= 0x0f // claims 15 CSRCs it does not have
	hugeExt := rtpBytes(t, 96, 2, 0, 0xabc0, make([]byte, 8))
	hugeExt[0] |= 0x10
	binary.BigEndian.PutUint16(hugeExt[12:], 0xbede)
	binary.BigEndian.PutUint16(hugeExt[14:], 0xffff) // extension of 256 KiB
	badPad := append([]byte(nil), good...)
	badPad[0] |= 0x20
	badPad[len(badPad)-1] = 0xff
	cases := []struct {
		name, reason string
		b            []byte
		from         netip.AddrPort
	}{
		{"garbage", dropMalformed, []byte("hello, this is not RTP at all"), src},
		{"empty datagram", dropMalformed, nil, src},
		{"truncated header", dropMalformed, good[:7], src},
		{"version 1", dropMalformed, append([]byte{0x40}, good[1:]...), src},
		{"huge CSRC count", dropMalformed, hugeCSRC[:20], src},
		{"huge extension length", dropMalformed, hugeExt, src},
		{"padding longer than packet", dropMalformed, badPad, src},
		{"unknown payload type", dropPayloadType, rtpBytes(t, 33, 3, 0, 0xabc0, make([]byte, 160)), src},
		{"no payload", dropEmpty, rtpBytes(t, 96, 4, 0, 0xabc0, nil), src},
		{"oversized", dropOversized, rtpBytes(t, 96, 5, 0, 0xabc0, make([]byte, 1500)), src},
		{"other source", dropSource, good, netip.MustParseAddrPort("127.0.0.1:9")},
		{"absurd sequence jump", dropJump, rtpBytes(t, 96, h.seq[0]+30000, 0, 0xabc0, make([]byte, 160)), src},
	}
	for _, c := range cases {
		before := dropped(h.m, c.reason)
		l.handleRTP(c.b, c.from)
		if got := dropped(h.m, c.reason); got != before+1 {
			t.Errorf("%s: dropped{reason=%q} went %v -> %v, want +1", c.name, c.reason, before, got)
		}
	}
	// The legs keep working: leg 1 still hears leg 0's tone.
	got := h.run(20)
	checkHears(t, "leg 1 after the garbage", got[1][3200:], []float64{800}, func(int) bool { return true })
}

// TestSymmetricLatching: the leg answers where media really comes from, not
// where SDP said, and then ignores other sources.
func TestSymmetricLatching(t *testing.T) {
	h := newHarness(t, codec.PCMU, 2, Config{})
	l := h.legs[0]
	real := h.peers[0].LocalAddr().(interface{ String() string }).String()
	l.out.remote = netip.MustParseAddrPort("127.0.0.1:7") // what SDP said
	l.out.latched = false
	realAP := netip.MustParseAddrPort(real)
	l.handleRTP(rtpBytes(t, 96, 1, 0, 5, make([]byte, 160)), realAP)
	if !l.out.latched || l.out.remote != realAP {
		t.Fatalf("after the first packet the leg sends to %v (latched %v), want %v", l.out.remote, l.out.latched, realAP)
	}
	before := dropped(h.m, dropSource)
	l.handleRTP(rtpBytes(t, 96, 2, 160, 5, make([]byte, 160)), netip.MustParseAddrPort("127.0.0.1:9"))
	if dropped(h.m, dropSource) != before+1 {
		t.Error("a packet from another source was not dropped as such")
	}
	if l.out.remote != realAP {
		t.Errorf("an injected packet moved the leg to %v", l.out.remote)
	}
	// The mix really goes to the latched address.
	got := h.tick()
	if got[0] == nil {
		t.Error("nothing arrived at the latched address")
	}
	// A re-INVITE with a new address relatches.
	if err := l.Update(LegConfig{Room: h.r.name, Codec: CodecSpec{Name: "PCMU", PayloadType: 96}, Remote: netip.MustParseAddrPort("127.0.0.1:11")}); err != nil {
		t.Fatal(err)
	}
	h.r.tick(time.Now())
	if l.out.latched || l.out.remote.Port() != 11 {
		t.Errorf("after Update the leg is latched=%v to %v, want unlatched to port 11", l.out.latched, l.out.remote)
	}
}

// TestUpdateCodec: a re-INVITE to another codec takes effect at the next
// tick, in both directions.
func TestUpdateCodec(t *testing.T) {
	h := newHarness(t, codec.PCMU, 2, Config{})
	h.tones[0] = tone(700)
	h.run(10)
	if err := h.legs[1].Update(LegConfig{Room: h.r.name, Codec: CodecSpec{Name: "G722", PayloadType: 9}}); err != nil {
		t.Fatal(err)
	}
	h.decs[1], _ = codec.NewDecoder(codec.G722)
	var out []int16
	for range 20 {
		h.legs[0].handleRTP(h.packet(0), h.legs[0].out.remote)
		h.r.tick(time.Now())
		h.peers[1].SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := h.peers[1].Read(h.rbuf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(h.rbuf[:n]); err != nil {
			t.Fatal(err)
		}
		if p.PayloadType != 9 || len(p.Payload) != 160 {
			t.Fatalf("after Update got PT %d with %d bytes, want G.722 PT 9 with 160", p.PayloadType, len(p.Payload))
		}
		pcm := make([]int16, codec.MaxDecodeSamples)
		k, _ := h.decs[1].Decode(p.Payload, pcm)
		out = append(out, pcm[:k]...)
		h.peers[0].SetReadDeadline(time.Now().Add(2 * time.Second))
		h.peers[0].Read(h.rbuf)
	}
	checkHears(t, "G.722 leg", out[1600:], []float64{700}, func(int) bool { return true })
	if err := h.legs[1].Update(LegConfig{Room: "elsewhere", Codec: CodecSpec{Name: "PCMU"}}); err == nil {
		t.Error("Update to another room succeeded")
	}
	if err := h.legs[1].Update(LegConfig{Codec: CodecSpec{Name: "iLBC"}}); err == nil {
		t.Error("Update to an unknown codec succeeded")
	}
}

// TestDTMF: RFC 4733 events give one digit each, end-bit retransmissions
// included, and a lost end still yields the digit when the next starts.
func TestDTMF(t *testing.T) {
	var log eventLog
	h := newHarness(t, codec.PCMU, 1, Config{OnEvent: log.add})
	l := h.legs[0]
	src := l.out.remote
	ev := func(seq uint16, ts uint32, event byte, end bool, dur uint16) []byte {
		p := []byte{event, 10, 0, 0}
		if end {
			p[1] |= 0x80
		}
		binary.BigEndian.PutUint16(p[2:], dur)
		return rtpBytes(t, 101, seq, ts, 7, p)
	}
	seq := uint16(100)
	send := func(ts uint32, event byte, ends int) {
		for i := range 3 {
			l.handleRTP(ev(seq, ts, event, false, uint16(160*(i+1))), src)
			seq++
		}
		for range ends {
			l.handleRTP(ev(seq, ts, event, true, 800), src)
			seq++
		}
	}
	send(1000, 1, 3)  // '1', end sent three times
	send(3000, 11, 3) // '#'
	send(5000, 15, 0) // 'D', every end packet lost
	send(7000, 10, 1) // '*' reveals the lost end of 'D'
	l.handleRTP(ev(seq, 9000, 200, true, 800), src)
	var digits []rune
	for _, e := range log.of(EventDTMF) {
		digits = append(digits, e.Digit)
		if e.LegID != l.ID() || e.Room != h.r.name {
			t.Errorf("DTMF event %+v names the wrong leg or room", e)
		}
	}
	if string(digits) != "1#D*" {
		t.Errorf("digits %q, want %q", string(digits), "1#D*")
	}
	if got := dropped(h.m, dropMalformed); got != 0 {
		t.Errorf("valid events counted %v malformed", got)
	}
	l.handleRTP(rtpBytes(t, 101, seq+1, 11000, 7, []byte{1, 2}), src)
	if got := dropped(h.m, dropMalformed); got != 1 {
		t.Errorf("a 2-byte telephone event counted %v malformed, want 1", got)
	}
}

// TestTalkingAndDominantEvents: talk detection has hysteresis and names the
// dominant speaker.
func TestTalkingAndDominantEvents(t *testing.T) {
	var log eventLog
	h := newHarness(t, codec.PCMU, 3, Config{OnEvent: log.add})
	h.run(10)
	if n := len(log.of(EventTalking)); n != 0 {
		t.Fatalf("%d talking events from silence", n)
	}
	h.tones[1] = tone(900)
	h.run(5)
	ev := log.of(EventTalking)
	if len(ev) != 1 || ev[0].LegID != h.legs[1].ID() || !ev[0].Talking {
		t.Fatalf("talking events %+v, want leg %d started", ev, h.legs[1].ID())
	}
	if d := log.of(EventDominantSpeaker); len(d) != 1 || d[0].LegID != h.legs[1].ID() {
		t.Fatalf("dominant speaker events %+v, want leg %d", d, h.legs[1].ID())
	}
	// A short pause (200 ms) is not the end of talking.
	h.tones[1] = nil
	h.run(10)
	h.tones[1] = tone(900)
	h.run(5)
	if n := len(log.of(EventTalking)); n != 1 {
		t.Errorf("a 200 ms pause produced %d talking events in all, want 1", n)
	}
	// A louder talker takes over only after holding the floor.
	h.tones[2] = tone(1500)
	h.tones[2].Amp = 0.6
	h.run(5)
	if d := log.of(EventDominantSpeaker); len(d) != 1 {
		t.Errorf("dominant speaker changed within 100 ms: %+v", d)
	}
	h.run(30)
	if d := log.of(EventDominantSpeaker); len(d) != 2 || d[1].LegID != h.legs[2].ID() {
		t.Errorf("dominant speaker events %+v, want leg %d second", d, h.legs[2].ID())
	}
	// Silence ends talking after the hangover, and muting ends it at once.
	h.tones[1] = nil
	h.run(25)
	h.legs[2].SetMuted(true)
	h.step()
	var stopped []uint64
	for _, e := range log.of(EventTalking) {
		if !e.Talking {
			stopped = append(stopped, e.LegID)
		}
	}
	if len(stopped) != 2 {
		t.Errorf("talking stopped for %v, want legs %d and %d", stopped, h.legs[1].ID(), h.legs[2].ID())
	}
}

// TestRTPTimeoutAndHold: a silent leg times out once; a held one never.
func TestRTPTimeoutAndHold(t *testing.T) {
	var log eventLog
	h := newHarness(t, codec.PCMU, 3, Config{OnEvent: log.add, RTPTimeout: 200 * time.Millisecond})
	h.legs[2].SetHold(true)
	for range 5 {
		h.step()
	}
	// Legs 1 and 2 go quiet; leg 0 keeps sending.
	for range 30 {
		h.legs[0].handleRTP(h.packet(0), h.legs[0].out.remote)
		h.tick()
	}
	ev := log.of(EventRTPTimeout)
	if len(ev) != 1 || ev[0].LegID != h.legs[1].ID() {
		t.Errorf("timeouts %+v, want exactly one for leg %d", ev, h.legs[1].ID())
	}
}

// TestRTCPBye: an RTCP BYE on the leg's RTCP port becomes one event, and the
// leg sends reports.
func TestRTCP(t *testing.T) {
	var log eventLog
	h := newHarness(t, codec.PCMU, 1, Config{OnEvent: log.add})
	l := h.legs[0]
	bye := []byte{0x81, 203, 0, 1, 0, 0, 0xab, 0xc0}
	for range 2 {
		if _, err := h.peers[0].WriteToUDPAddrPort(bye, netip.AddrPortFrom(l.local.Addr(), l.local.Port()+1)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(log.of(EventRTCPBye)) == 0 && time.Now().Before(deadline) {
		h.step()
	}
	h.step()
	if ev := log.of(EventRTCPBye); len(ev) != 1 || ev[0].LegID != l.ID() {
		t.Errorf("BYE events %+v, want one for leg %d", ev, l.ID())
	}
	before := dropped(h.m, dropRTCP)
	l.handleRTCP([]byte{0x80, 200, 0, 50, 1, 2}, l.rtcp.remote)
	if dropped(h.m, dropRTCP) != before+1 {
		t.Error("truncated RTCP not counted")
	}
}

func FuzzReceive(f *testing.F) {
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff})
	f.Add([]byte{0x8f, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff})
	f.Add([]byte{0x80, 101, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x80, 0, 160})
	f.Add([]byte{0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 5})
	f.Add([]byte{0x81, 203, 0, 1, 0, 0, 0, 1})
	h := newHarness(f, codec.Opus, 2, Config{})
	l := h.legs[0]
	src := l.out.remote
	f.Fuzz(func(t *testing.T, b []byte) {
		// RTP and RTCP parsing, then a tick to decode whatever was buffered.
		l.handleRTP(b, src)
		l.handleRTCP(b, src)
		h.r.tick(time.Now())
	})
}

// TestRTCPByeFromStrangerIgnored: a BYE from another host, or for another
// stream, does not end the call.
func TestRTCPByeFromStrangerIgnored(t *testing.T) {
	var log eventLog
	h := newHarness(t, codec.PCMU, 1, Config{OnEvent: log.add})
	l := h.legs[0]
	h.step() // media from SSRC 0xabc0 latches the leg
	l.handleRTCP([]byte{0x81, 203, 0, 1, 0, 0, 0xab, 0xc0}, netip.MustParseAddrPort("127.0.0.2:5001"))
	l.handleRTCP([]byte{0x81, 203, 0, 1, 0, 0, 0x12, 0x34}, l.out.remote)
	if ev := log.of(EventRTCPBye); len(ev) != 0 {
		t.Errorf("BYE events %+v from a stranger or for another SSRC", ev)
	}
	l.handleRTCP([]byte{0x81, 203, 0, 1, 0, 0, 0xab, 0xc0}, l.out.remote)
	if ev := log.of(EventRTCPBye); len(ev) != 1 {
		t.Errorf("BYE events %+v, want the genuine one", ev)
	}
}

// TestRTCPReportsParse: the hand-built (allocation-free) sender and
// receiver reports are what pion/rtcp reads back, with the right numbers.
func TestRTCPReportsParse(t *testing.T) {
	h := newHarness(t, codec.PCMU, 1, Config{})
	l := h.legs[0]
	h.run(30) // 30 packets in from SSRC 0xabc0, 30 out
	l.rtcp.latched = true
	l.rtcp.remote = h.peers[0].LocalAddr().(*net.UDPAddr).AddrPort()
	read := func() []rtcp.Packet {
		t.Helper()
		l.tick = rtcpEvery - l.id%rtcpEvery // a report tick for this leg
		l.maybeSendRTCP(time.Now())
		h.peers[0].SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := h.peers[0].Read(h.rbuf)
		if err != nil {
			t.Fatalf("no RTCP report: %v", err)
		}
		pkts, err := rtcp.Unmarshal(h.rbuf[:n])
		if err != nil {
			t.Fatalf("pion/rtcp cannot read our report: %v", err)
		}
		return pkts
	}
	sr, ok := read()[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatal("a sending leg sent no sender report")
	}
	if sr.SSRC != l.out.ssrc || sr.PacketCount != 30 || sr.OctetCount != 30*160 || sr.RTPTime != l.out.ts {
		t.Errorf("sender report %+v, want SSRC %x, 30 packets, 4800 octets, RTP time %d", sr, l.out.ssrc, l.out.ts)
	}
	if len(sr.Reports) != 1 || sr.Reports[0].SSRC != 0xabc0 || sr.Reports[0].TotalLost != 0 || sr.Reports[0].LastSequenceNumber != uint32(h.seq[0]-1) {
		t.Errorf("reception reports %+v, want one for SSRC abc0, no loss, highest seq %d", sr.Reports, h.seq[0]-1)
	}
	l.SetHold(true)
	rr, ok := read()[0].(*rtcp.ReceiverReport)
	if !ok || rr.SSRC != l.out.ssrc || len(rr.Reports) != 1 {
		t.Errorf("a held leg sent %+v, want a receiver report with one block", rr)
	}
}
