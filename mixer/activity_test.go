package mixer

import (
	"testing"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/codec"
)

// countingDecoder counts the frames a leg really decodes.
type countingDecoder struct {
	codec.Decoder
	n int
}

func (d *countingDecoder) Decode(payload []byte, pcm []int16) (int, error) {
	d.n++
	return d.Decoder.Decode(payload, pcm)
}

// TestOpusVoicelessFramesSkipped: Opus frames whose sender heard no voice are
// not decoded while their leg is not talking; a talker's quiet frames still
// are (the end of a word stays in the mix), and a silent leg that starts
// talking is heard at once.
func TestOpusVoicelessFramesSkipped(t *testing.T) {
	h := newHarness(t, codec.Opus, 4, Config{})
	decs := make([]*countingDecoder, len(h.legs))
	for i, l := range h.legs {
		decs[i] = &countingDecoder{Decoder: l.media.dec}
		l.media.dec = decs[i]
	}
	decoded := func() []int {
		n := make([]int, len(decs))
		for i, d := range decs {
			n[i], d.n = d.n, 0
		}
		return n
	}
	h.tones[0] = tone(700)
	h.run(20)
	decoded()
	h.run(25)
	n := decoded()
	if n[0] != 25 {
		t.Errorf("the talker had %d of 25 frames decoded", n[0])
	}
	for i := 1; i < 4; i++ {
		if n[i] > probeTicks {
			t.Errorf("silent leg %d had %d of 25 frames decoded, want them skipped", i, n[i])
		}
	}

	// The talker falls silent: its voiceless frames are decoded through the
	// 400 ms hangover, then skipped.
	h.tones[0] = nil
	h.run(10)
	if n := decoded(); n[0] != 10 {
		t.Errorf("the talker's first 10 quiet frames: %d decoded, want all", n[0])
	}
	h.run(30)
	decoded()
	h.run(10)
	if n := decoded(); n[0] > probeTicks {
		t.Errorf("a leg quiet for 800 ms had %d of the last 10 frames decoded", n[0])
	}

	// A silent leg starts talking: everybody else hears it.
	h.tones[2] = tone(1300)
	h.run(5)
	got := h.run(20)
	for _, i := range []int{0, 1, 3} {
		checkHears(t, "leg", got[i], []float64{700, 1300}, func(j int) bool { return j == 1 })
	}
	// The encoder may call the very first frame of a sound voiceless.
	if n := decoded(); n[2] < 24 {
		t.Errorf("the new talker had %d of 25 frames decoded", n[2])
	}
}

// alwaysVoiceless is a sender whose VAD calls every frame voiceless.
type alwaysVoiceless struct{ codec.Activity }

func (alwaysVoiceless) Inactive([]byte) bool { return true }

// runUntilProbe steps until leg l's periodic probe is n ticks away.
func runUntilProbe(h *harness, l *Leg, n uint64) {
	for (l.tick+1+l.id+n)%probeEvery != 0 {
		h.step()
	}
}

// TestVoicelessLoudSoundStillHeard: a loud sound its sender's VAD calls
// voiceless is measured by the periodic probe and mixed within a second.
func TestVoicelessLoudSoundStillHeard(t *testing.T) {
	h := newHarness(t, codec.Opus, 3, Config{})
	l := h.legs[1]
	l.media.vad = alwaysVoiceless{l.media.vad}
	h.run(10)
	runUntilProbe(h, l, 20)
	h.tones[1] = tone(1300)
	if got := h.run(15); testpeer.ToneAmplitude(got[2], 1300, codec.SampleRate) > absent {
		t.Fatal("the voiceless tone was heard before any probe: it was decoded all along")
	}
	h.run(15) // the probe, then the talk detector
	got := h.run(20)
	checkHears(t, "listener", got[2], []float64{1300}, func(int) bool { return true })
}

// TestUnmutedSteadyToneHeardAtOnce: a leg unmuted in the middle of a steady
// tone, which its sender's VAD has long since called voiceless, is heard
// within a few ticks, not at the next periodic probe.
func TestUnmutedSteadyToneHeardAtOnce(t *testing.T) {
	h := newHarness(t, codec.Opus, 3, Config{})
	l := h.legs[1]
	h.tones[1] = tone(1300)
	h.run(100) // 2 s: the sender's VAD settles on the tone
	l.SetMuted(true)
	h.run(10)
	runUntilProbe(h, l, 25)
	l.SetMuted(false)
	h.run(4)
	got := h.run(10)
	checkHears(t, "listener", got[2], []float64{1300}, func(int) bool { return true })
}
