package mixer

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/zaf/g711"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/codec"
)

// TestConcurrentControl: legs come and go in a few rooms while other
// goroutines flip their controls and renegotiate, as focus will do; run
// with -race it checks the worker/caller boundary.
func TestConcurrentControl(t *testing.T) {
	m := newTestMixer(t, Config{Workers: 2})
	codecs := []string{"PCMU", "PCMA", "G722", "opus"}
	var wg sync.WaitGroup
	stop := time.Now().Add(time.Second)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				cfg := LegConfig{Room: fmt.Sprintf("room-%d", (g+i)%3), Codec: CodecSpec{Name: codecs[i%4], PayloadType: 96},
					Remote: netip.MustParseAddrPort("127.0.0.1:9")}
				l, err := m.AddLeg(cfg)
				if err != nil {
					t.Errorf("AddLeg: %v", err)
					return
				}
				l.SetMuted(i%2 == 0)
				l.SetDeaf(i%3 == 0)
				l.SetHold(i%5 == 0)
				time.Sleep(15 * time.Millisecond)
				cfg.Codec.Name = codecs[(i+1)%4]
				if err := l.Update(cfg); err != nil {
					t.Errorf("Update: %v", err)
				}
				time.Sleep(15 * time.Millisecond)
				if err := l.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.mu.Lock()
		rooms, legs := len(m.rooms), len(m.legs)
		m.mu.Unlock()
		if rooms == 0 && legs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rooms and %d legs left 10 s after every leg closed", rooms, legs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPacketDurations: phones sending 10, 30 or 40 ms packets (a=ptime) are
// heard without gaps through the 16 kHz FIFO.
func TestPacketDurations(t *testing.T) {
	for _, ptime := range []int{10, 30, 40} {
		t.Run(fmt.Sprintf("ptime=%d", ptime), func(t *testing.T) {
			h := newHarness(t, codec.PCMU, 2, Config{})
			gen := testpeer.ToneGen{Freq: 900, Rate: 8000, Amp: 0.2}
			samples := 8 * ptime
			pcm := make([]int16, samples)
			payload := make([]byte, samples)
			seq, ts := uint16(0), uint32(0)
			owed := 0 // samples of 8 kHz audio the sender is behind real time
			var got []int16
			for k := range 60 {
				owed += 160
				for owed >= samples {
					gen.Fill(pcm)
					for i, s := range pcm {
						payload[i] = g711.EncodeUlawFrame(s)
					}
					h.legs[0].handleRTP(rtpBytes(t, 96, seq, ts, 77, payload), h.legs[0].out.remote)
					seq++
					ts += uint32(samples)
					owed -= samples
				}
				h.legs[1].handleRTP(h.packet(1), h.legs[1].out.remote)
				out := h.tick()
				if k >= 20 {
					got = append(got, out[1]...)
				}
			}
			if a := testpeer.ToneAmplitude(got, 900, codec.SampleRate); a < 0.15 {
				t.Errorf("tone sent in %d ms packets heard at amplitude %.3f, want about 0.2", ptime, a)
			}
			// No gaps: every 20 ms frame carries the tone.
			for f := 0; f+codec.FrameSamples <= len(got); f += codec.FrameSamples {
				if rms := testpeer.RMS(got[f : f+codec.FrameSamples]); rms < 0.1 {
					t.Errorf("frame %d has RMS %.3f: a gap", f/codec.FrameSamples, rms)
					break
				}
			}
		})
	}
}

// TestIPv6: legs bind and latch on ::1 as well.
func TestIPv6(t *testing.T) {
	m, err := New(Config{BindAddr: netip.MustParseAddr("::1"), PortMin: 30000, PortMax: 39999})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	p := newRTPPeer6(t)
	if p == nil {
		t.Skip("no IPv6 loopback")
	}
	l, err := m.AddLeg(LegConfig{Room: "v6", Codec: CodecSpec{Name: "PCMU"}})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	if !l.LocalAddr().Addr().Is6() {
		t.Fatalf("leg address %v, want IPv6", l.LocalAddr())
	}
	p.start(l.LocalAddr(), nil)
	p.waitSamples(t, 1600) // the mix (silence) comes back to where we sent from
}

// TestLossConcealment: a lost packet in the middle of a tone leaves no
// hole: Opus conceals with its own PLC, the others repeat and fade.
func TestLossConcealment(t *testing.T) {
	for _, name := range []string{codec.PCMU, codec.G722, codec.Opus} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, name, 2, Config{})
			h.tones[0] = tone(800)
			var got []int16
			for k := range 40 {
				pkt := h.packet(0) // always advances the sender
				if k != 25 {       // packet 25 is lost
					h.legs[0].handleRTP(pkt, h.legs[0].out.remote)
				}
				h.legs[1].handleRTP(h.packet(1), h.legs[1].out.remote)
				out := h.tick()
				if k >= 15 {
					got = append(got, out[1]...)
				}
			}
			lost := 0
			for f := 0; f+codec.FrameSamples <= len(got); f += codec.FrameSamples {
				if rms := testpeer.RMS(got[f : f+codec.FrameSamples]); rms < 0.03 {
					t.Errorf("frame %d has RMS %.3f: the loss left a hole", f/codec.FrameSamples, rms)
				}
			}
			st := h.legs[0].rx.jb.Stats()
			lost = int(st.Lost)
			if lost != 1 {
				t.Errorf("jitter buffer counted %d lost packets, want 1", lost)
			}
		})
	}
}

// TestFloodedLegDoesNotStallRoom: a burst of thousands of datagrams at one
// leg costs the room a bounded amount of work per tick; the others keep
// hearing each other. A leg's own port is read for at most rxMaxPerTick
// datagrams a tick, a shared port for at most rxMaxPerTick per leg on it.
func TestFloodedLegDoesNotStallRoom(t *testing.T) {
	for _, perPort := range []int{1, DefaultLegsPerPort} {
		t.Run(fmt.Sprintf("legs-per-port=%d", perPort), func(t *testing.T) {
			h := newHarness(t, codec.PCMU, 3, Config{LegsPerPort: perPort})
			h.tones[0], h.tones[1] = tone(600), tone(1500)
			h.run(10)
			flood := rtpBytes(t, 96, 1, 0, 99, make([]byte, 160))
			target := h.legs[2].local
			for range 5000 {
				h.peers[2].WriteToUDPAddrPort(flood, target) // many are dropped by the kernel
			}
			limit := rxMaxPerTick
			if perPort > 1 {
				limit = rxMaxPerTick * len(h.legs)
			}
			before := handled(h.m)
			h.r.tick(time.Now())
			if n := int(handled(h.m) - before); n > limit+len(h.legs) || n < rxMaxPerTick {
				t.Errorf("one tick handled %d datagrams, want them capped at %d", n, limit)
			}
			got := h.run(20)
			checkHears(t, "leg 0 during the flood", got[0][3200:], []float64{1500}, func(int) bool { return true })
		})
	}
}

// handled counts every datagram the mixer has accepted or dropped.
func handled(m *Mixer) float64 {
	n := counterValue(m.met.received)
	for _, c := range m.met.dropped {
		n += counterValue(c)
	}
	return n
}
