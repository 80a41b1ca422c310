package mixer

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/codec"
)

const (
	heard  = 0.08 // a tone at amplitude 0.2 measures near 0.2 after coding
	absent = 0.01
)

func tone(f float64) *testpeer.ToneGen {
	return &testpeer.ToneGen{Freq: f, Rate: codec.SampleRate, Amp: 0.2}
}

// checkHears asserts that audio holds exactly the tones of want among freqs.
func checkHears(t *testing.T, who string, audio []int16, freqs []float64, want func(j int) bool) {
	t.Helper()
	for j, f := range freqs {
		a := testpeer.ToneAmplitude(audio, f, codec.SampleRate)
		if want(j) && a < heard {
			t.Errorf("%s: tone %d (%v Hz) at amplitude %.3f, want it heard", who, j, f, a)
		}
		if !want(j) && a > absent {
			t.Errorf("%s: tone %d (%v Hz) at amplitude %.3f, want it absent", who, j, f, a)
		}
	}
}

// TestNMinusOneProperty: for random rooms of 2 to 6 talkers in every codec,
// no leg hears itself and each hears every other talker.
func TestNMinusOneProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{codec.PCMU, codec.PCMA, codec.G722, codec.Opus} {
		for trial := range 3 {
			n := 2 + rng.IntN(5)
			t.Run(fmt.Sprintf("%s/%d-legs/%d", name, n, trial), func(t *testing.T) {
				h := newHarness(t, name, n, Config{MaxTalkers: n})
				freqs := make([]float64, n)
				perm := rng.Perm(8)
				for i := range n {
					freqs[i] = 400 + 350*float64(perm[i]) // 400-2850 Hz, 350 Hz apart
					h.tones[i] = tone(freqs[i])
				}
				h.run(15)
				got := h.run(25)
				for i := range n {
					checkHears(t, fmt.Sprintf("leg %d", i), got[i], freqs, func(j int) bool { return j != i })
				}
			})
		}
	}
}

// TestListenerHearsAll: a silent listener gets the shared mix of everyone.
func TestListenerHearsAll(t *testing.T) {
	h := newHarness(t, codec.PCMU, 4, Config{})
	freqs := []float64{500, 1200, 2000}
	for i, f := range freqs {
		h.tones[i] = tone(f)
	}
	h.run(15)
	got := h.run(25)
	checkHears(t, "listener", got[3], freqs, func(int) bool { return true })
}

// TestMaxTalkers: with K=2 only the two loudest of four talkers are mixed.
func TestMaxTalkers(t *testing.T) {
	h := newHarness(t, codec.PCMU, 5, Config{MaxTalkers: 2})
	freqs := []float64{500, 1100, 1700, 2300}
	amps := []float64{0.05, 0.3, 0.1, 0.2}
	for i, f := range freqs {
		h.tones[i] = &testpeer.ToneGen{Freq: f, Rate: codec.SampleRate, Amp: amps[i]}
	}
	h.run(15)
	got := h.run(25)
	checkHears(t, "listener", got[4], freqs, func(j int) bool { return j == 1 || j == 3 })
}

// TestControlsAtNextTick: mute, deaf and hold change the very next frame.
func TestControlsAtNextTick(t *testing.T) {
	freqs := []float64{600, 1400, 2200}
	setup := func(t *testing.T) *harness {
		h := newHarness(t, codec.PCMU, 3, Config{})
		for i, f := range freqs {
			h.tones[i] = tone(f)
		}
		h.run(20)
		return h
	}
	t.Run("mute", func(t *testing.T) {
		h := setup(t)
		h.legs[0].SetMuted(true)
		got := h.step()
		for i := 1; i < 3; i++ {
			checkHears(t, fmt.Sprintf("leg %d, first frame after mute", i), got[i], freqs, func(j int) bool { return j != 0 && j != i })
		}
		h.legs[0].SetMuted(false)
		h.step() // the unmuted talker's level must first reach the mix
		got = h.step()
		checkHears(t, "leg 1 after unmute", got[1], freqs, func(j int) bool { return j != 1 })
	})
	t.Run("deaf", func(t *testing.T) {
		h := setup(t)
		h.legs[0].SetDeaf(true)
		got := h.step()
		// The first samples are the test decoder's own filter tail.
		if rms := testpeer.RMS(got[0][32:]); rms > 0.002 {
			t.Errorf("deaf leg's first frame has RMS %.4f, want silence", rms)
		}
		checkHears(t, "leg 1 (deafness does not mute)", got[1], freqs, func(j int) bool { return j != 1 })
		h.legs[0].SetDeaf(false)
		h.step()
		got = h.step()
		checkHears(t, "leg 0 after undeaf", got[0], freqs, func(j int) bool { return j != 0 })
	})
	t.Run("hold", func(t *testing.T) {
		h := setup(t)
		h.legs[0].SetHold(true)
		got := h.step()
		if got[0] != nil {
			t.Errorf("held leg was sent %d samples", len(got[0]))
		}
		checkHears(t, "leg 1 with leg 0 held", got[1], freqs, func(j int) bool { return j == 2 })
		h.legs[0].SetHold(false)
		h.step()
		got = h.step()
		if got[0] == nil {
			t.Fatal("leg 0 got nothing after leaving hold")
		}
	})
	t.Run("close", func(t *testing.T) {
		h := setup(t)
		h.legs[0].Close()
		got := h.step()
		checkHears(t, "leg 1 after leg 0 left", got[1], freqs, func(j int) bool { return j == 2 })
		if h.legs[0].Close() != nil {
			t.Error("second Close returned an error")
		}
	})
}

// TestSilentLegNeverStalls: a leg that sends nothing at all neither blocks
// the tick nor anyone's audio, and still gets the mix.
func TestSilentLegNeverStalls(t *testing.T) {
	h := newHarness(t, codec.PCMU, 3, Config{})
	freqs := []float64{700, 1900}
	h.tones[0], h.tones[1] = tone(freqs[0]), tone(freqs[1])
	var got [][]int16 = make([][]int16, 3)
	for k := range 40 {
		for i := range 2 {
			h.legs[i].handleRTP(h.packet(i), h.legs[i].out.remote)
		}
		out := h.tick()
		if k >= 15 {
			for i := range 3 {
				got[i] = append(got[i], out[i]...)
			}
		}
	}
	checkHears(t, "leg 0", got[0], freqs, func(j int) bool { return j == 1 })
	checkHears(t, "leg 1", got[1], freqs, func(j int) bool { return j == 0 })
	checkHears(t, "silent leg 2", got[2], freqs, func(int) bool { return true })
}

// TestTickDoesNotAllocate: receive, jitter buffer, decode, mix, encode and
// packet building allocate nothing per packet or per tick, in every codec.
// (The benchmarks report the same as allocs/op; this keeps it from
// regressing unnoticed.)
func TestTickDoesNotAllocate(t *testing.T) {
	for _, name := range []string{codec.PCMU, codec.PCMA, codec.G722, codec.Opus} {
		br := newBenchRoom(t, name, 6, true)
		k := benchWarmup
		deliver := func(i int, pkt []byte) { br.legs[i].handleRTP(pkt, br.srcs[i]) }
		now := time.Now()
		allocs := testing.AllocsPerRun(100, func() {
			br.feed(k, deliver)
			br.r.tick(now)
			k++
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per tick, want 0", name, allocs)
		}
	}
}
