package mixer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/codec"
	"cusax.dev/bridge/mixer/prompt"
)

const promptHz = 2600 // the test prompt's tone, apart from every talker's

// testPrompts holds "beep": 0.5 s (25 frames) of promptHz at amplitude 0.2.
func testPrompts(t testing.TB) *prompt.Set {
	t.Helper()
	c, err := prompt.New("beep", codec.SampleRate, testpeer.Tone(promptHz, codec.SampleRate, codec.SampleRate/2, 0.2))
	if err != nil {
		t.Fatal(err)
	}
	return prompt.NewSet("test", c)
}

func promptHarness(t *testing.T, name string, n int) *harness {
	h := newHarness(t, name, n, Config{Prompts: testPrompts(t)})
	h.tones[0], h.tones[1] = tone(600), tone(1400)
	h.run(20)
	return h
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A prompt reaches only its leg, in place of the room, and never anyone
// else's mix; the room comes back when it ends. In every codec.
func TestPromptReachesOnlyItsLeg(t *testing.T) {
	freqs := []float64{600, 1400, promptHz}
	for _, name := range []string{codec.PCMU, codec.PCMA, codec.G722, codec.Opus} {
		t.Run(name, func(t *testing.T) {
			h := promptHarness(t, name, 3)
			done, err := h.legs[0].Play("beep")
			if err != nil {
				t.Fatal(err)
			}
			h.run(3) // codecs' own transition after a switch of stream
			during := h.run(20)
			if closed(done) {
				t.Fatal("done closed before the prompt's 25 frames")
			}
			h.run(2)
			if !closed(done) {
				t.Fatal("done still open after the prompt's 25 frames")
			}
			// Leg 0 hears the prompt, not the room; its own voice still
			// reaches the others, who never hear the prompt.
			checkHears(t, "leg 0 (prompted)", during[0], freqs, func(j int) bool { return j == 2 })
			checkHears(t, "leg 1 (talker)", during[1], freqs, func(j int) bool { return j == 0 })
			checkHears(t, "leg 2 (listener)", during[2], freqs, func(j int) bool { return j < 2 })
			h.run(3)
			after := h.run(20)
			checkHears(t, "leg 0 after the prompt", after[0], freqs, func(j int) bool { return j == 1 })
		})
	}
}

// Prompts queue: two plays of one prompt take twice its length.
func TestPromptsQueue(t *testing.T) {
	h := promptHarness(t, codec.PCMU, 2)
	first, _ := h.legs[1].Play("beep")
	second, err := h.legs[1].Play("beep")
	if err != nil {
		t.Fatal(err)
	}
	h.run(26)
	if !closed(first) || closed(second) {
		t.Fatalf("after 26 ticks: first done %v, second done %v; want true, false", closed(first), closed(second))
	}
	got := h.run(24)
	checkHears(t, "leg 1 in its second prompt", got[1], []float64{600, promptHz}, func(j int) bool { return j == 1 })
	h.run(1)
	if !closed(second) {
		t.Fatal("second prompt not done after 50 ticks")
	}
	for range maxQueuedPrompts {
		_, _ = h.legs[1].Play("beep")
	}
	if _, err := h.legs[1].Play("beep"); !errors.Is(err, ErrPromptQueueFull) {
		t.Errorf("a ninth queued prompt: %v, want ErrPromptQueueFull", err)
	}
	if _, err := h.legs[1].Play("nope"); !errors.Is(err, ErrNoPrompt) {
		t.Errorf("an unknown prompt: %v, want ErrNoPrompt", err)
	}
}

// Closing a leg ends its prompts, so nobody waits for frames never sent.
func TestPromptEndsWithItsLeg(t *testing.T) {
	h := promptHarness(t, codec.PCMU, 2)
	playing, _ := h.legs[1].Play("beep")
	queued, _ := h.legs[1].Play("beep")
	h.run(2)
	h.legs[1].Close()
	h.step()
	if !closed(playing) || !closed(queued) {
		t.Fatalf("after Close: playing done %v, queued done %v", closed(playing), closed(queued))
	}
	if _, err := h.legs[1].Play("beep"); !errors.Is(err, ErrClosed) {
		t.Errorf("Play on a closed leg: %v, want ErrClosed", err)
	}
}

// The room channel: PlayToOthers goes into every mix but the one of the
// leg it was played for, whether that leg listens or talks; PlayToRoom
// goes to everyone.
func TestRoomAnnouncement(t *testing.T) {
	freqs := []float64{600, 1400, promptHz}
	for _, name := range []string{codec.PCMU, codec.G722, codec.Opus} {
		for _, left := range []int{0, 2, -1} { // a talker, a listener, nobody
			t.Run(fmt.Sprintf("%s/left-out=%d", name, left), func(t *testing.T) {
				h := promptHarness(t, name, 4)
				var done <-chan struct{}
				var err error
				if left >= 0 {
					done, err = h.legs[left].PlayToOthers("beep")
				} else {
					done, err = h.legs[3].PlayToRoom("beep")
				}
				if err != nil {
					t.Fatal(err)
				}
				h.run(3)
				got := h.run(20)
				h.run(2)
				if !closed(done) {
					t.Fatal("announcement not done after its 25 frames")
				}
				for i := range 4 {
					checkHears(t, fmt.Sprintf("leg %d", i), got[i], freqs, func(j int) bool {
						if j == 2 {
							return i != left
						}
						return j != i // N-1 as ever
					})
				}
			})
		}
	}
}

// Playing prompts allocates nothing per tick either.
func TestPromptTickDoesNotAllocate(t *testing.T) {
	br := newBenchRoom(t, codec.G722, 6, true)
	br.m.cfg.Prompts = testPrompts(t)
	k := benchWarmup
	deliver := func(i int, pkt []byte) { br.legs[i].handleRTP(pkt, br.srcs[i]) }
	now := time.Now()
	allocs := testing.AllocsPerRun(20, func() {
		br.feed(k, deliver)
		br.r.tick(now)
		k++
	})
	_, _ = br.legs[0].Play("beep")
	_, _ = br.legs[4].PlayToOthers("beep")
	br.r.tick(now) // the queues start
	allocs += testing.AllocsPerRun(20, func() {
		br.feed(k, deliver)
		br.r.tick(now)
		k++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per tick with prompts playing, want 0", allocs)
	}
}

// BenchmarkMixPrompts measures what playing prompts costs the tick: two
// rooms like BenchmarkMix's, one plain and one with a prompt playing to
// every tenth leg, ticked alternately in the same loop (each first every
// other time) so the shared machine's load falls on both alike. It reports each room's time per
// participant-frame and their ratio; one op is one 20 ms frame of each.
func BenchmarkMixPrompts(b *testing.B) {
	long, err := prompt.New("long", codec.SampleRate, testpeer.Tone(promptHz, codec.SampleRate, 25*codec.SampleRate, 0.2))
	if err != nil {
		b.Fatal(err)
	}
	set := prompt.NewSet("bench", long)
	cases := []struct {
		codec string
		n     int
	}{{codec.PCMU, 100}, {codec.PCMU, 1000}, {codec.G722, 100}, {codec.Opus, 100}}
	for _, c := range cases {
		b.Run(fmt.Sprintf("codec=%s/participants=%d", lower(c.codec), c.n), func(b *testing.B) {
			plain, prompted := newBenchRoom(b, c.codec, c.n, true), newBenchRoom(b, c.codec, c.n, true)
			prompted.m.cfg.Prompts = set
			var playing []<-chan struct{}
			for i := 0; i < c.n; i += 10 {
				playing = append(playing, nil)
			}
			replay := func() {
				for i := range playing {
					if playing[i] == nil || closed(playing[i]) {
						playing[i], _ = prompted.legs[10*i].Play("long")
					}
				}
			}
			replay()
			now := time.Now()
			k := benchWarmup
			var spent [2]time.Duration
			rooms := [2]*benchRoom{plain, prompted}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for o := range 2 {
					j := (o + k) % 2 // each room goes first every other op
					br := rooms[j]
					t0 := time.Now()
					br.feed(k, func(i int, pkt []byte) { br.legs[i].handleRTP(pkt, br.srcs[i]) })
					br.r.tick(now)
					spent[j] += time.Since(t0)
				}
				replay()
				k++
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) / float64(c.n) }
			b.ReportMetric(per(spent[0]), "ns/participant-frame-plain")
			b.ReportMetric(per(spent[1]), "ns/participant-frame-prompts")
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "prompts/plain")
		})
	}
}
