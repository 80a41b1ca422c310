package mixer

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/codec"
)

// trackWriter stands in for a WebRTC track: it decodes what the mixer sends
// the packet leg.
type trackWriter struct {
	mu  sync.Mutex
	dec codec.Decoder
	pcm []int16
	err error
}

func (w *trackWriter) WriteRTP(b []byte) error {
	var p rtp.Packet
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := p.Unmarshal(b); err != nil {
		w.err = err
		return nil
	}
	buf := make([]int16, codec.MaxDecodeSamples)
	n, err := w.dec.Decode(p.Payload, buf)
	if err != nil {
		w.err = err
		return nil
	}
	w.pcm = append(w.pcm, buf[:n]...)
	return nil
}

func (w *trackWriter) audio() []int16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int16(nil), w.pcm...)
}

// TestPacketLegMixesWithSocketLegs: a packet leg (Opus, as a browser sends)
// and a phone on a real UDP socket (PCMU) share a room: each hears the
// other and not itself, and muting the packet leg takes it out of the
// phone's mix.
func TestPacketLegMixesWithSocketLegs(t *testing.T) {
	m := newTestMixer(t, Config{})
	phone := newRTPPeer(t)
	pl, err := m.AddLeg(LegConfig{Room: "mixed", Codec: CodecSpec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}, Remote: phone.addr()})
	if err != nil {
		t.Fatal(err)
	}
	phone.start(pl.LocalAddr(), &testpeer.ToneGen{Freq: 440, Rate: 8000, Amp: 0.25})

	dec, _ := codec.NewDecoder(codec.Opus)
	w := &trackWriter{dec: dec}
	bl, err := m.AddPacketLeg(LegConfig{Room: "mixed", Codec: CodecSpec{Name: "opus", PayloadType: 111, ClockRate: 48000}}, w)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the browser: 1000 Hz in Opus at 20 ms pacing
		defer close(done)
		enc, _ := codec.NewEncoder(codec.Opus)
		gen := &testpeer.ToneGen{Freq: 1000, Rate: codec.SampleRate, Amp: 0.25}
		pcm := make([]int16, codec.FrameSamples)
		pay := make([]byte, codec.MaxPayload)
		tick := time.NewTicker(Frame)
		defer tick.Stop()
		for i := uint16(0); ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			gen.Fill(pcm)
			n, err := enc.Encode(pcm, pay)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: i, Timestamp: uint32(i) * 960, SSRC: 7}, Payload: pay[:n]}).Marshal()
			if err := bl.Deliver(b); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()

	phone.waitSamples(t, 4000)
	mark := phone.received()
	phone.waitSamples(t, mark+8000)
	got := phone.since(mark)
	if a := testpeer.ToneAmplitude(got, 1000, 8000); a < 0.1 {
		t.Errorf("phone hears the packet leg's 1000 Hz at amplitude %.3f, want about 0.25", a)
	}
	heardByBrowser := w.audio()
	if len(heardByBrowser) < codec.SampleRate/2 {
		t.Fatalf("packet leg was sent %d samples in a second, want at least half a second", len(heardByBrowser))
	}
	tail := heardByBrowser[len(heardByBrowser)-codec.SampleRate/2:]
	if a := testpeer.ToneAmplitude(tail, 440, codec.SampleRate); a < 0.1 {
		t.Errorf("packet leg hears the phone's 440 Hz at amplitude %.3f, want about 0.25", a)
	}
	if a := testpeer.ToneAmplitude(tail, 1000, codec.SampleRate); a > 0.01 {
		t.Errorf("packet leg hears itself (1000 Hz at amplitude %.3f)", a)
	}

	bl.SetMuted(true)
	mark = phone.received() + 800
	phone.waitSamples(t, mark+4000)
	if a := testpeer.ToneAmplitude(phone.since(mark), 1000, 8000); a > 0.01 {
		t.Errorf("muted packet leg still heard by the phone at amplitude %.3f", a)
	}
	if w.err != nil {
		t.Errorf("the packet leg was sent something undecodable: %v", w.err)
	}
}

// TestPacketLegDeliverErrors: Deliver belongs to packet legs, refuses a
// closed one, and drops (and counts) a burst beyond one tick's slots
// without blocking.
func TestPacketLegDeliverErrors(t *testing.T) {
	m := newTestMixer(t, Config{})
	peer := newRTPPeer(t)
	sock, err := m.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMU"}, Remote: peer.addr()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sock.Deliver([]byte{0x80}); err == nil {
		t.Error("Deliver on a socket leg: want an error, got nil")
	}
	if _, err := m.AddPacketLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMU"}}, nil); err == nil {
		t.Error("AddPacketLeg with a nil writer: want an error, got nil")
	}
	pl, err := m.AddPacketLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMU"}}, &trackWriter{})
	if err != nil {
		t.Fatal(err)
	}
	before := counterValue(m.met.dropped[dropInboxFull])
	for range 10 * inboxSlots {
		if err := pl.Deliver(make([]byte, 172)); err != nil {
			t.Fatal(err)
		}
	}
	if after := counterValue(m.met.dropped[dropInboxFull]); after <= before {
		t.Errorf("a burst of %d packets dropped %v beyond the inbox, want some dropped and counted", 10*inboxSlots, after-before)
	}
	pl.Close()
	if err := pl.Deliver(make([]byte, 172)); !errors.Is(err, ErrClosed) {
		t.Errorf("Deliver on a closed leg: want ErrClosed, got %v", err)
	}
}
