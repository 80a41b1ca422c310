package focus_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer"
)

// realFocus runs a focus on the real mixer, on loopback.
func realFocus(t *testing.T) (*focus.Focus, *prometheus.Registry) {
	t.Helper()
	return realFocusWith(t, focus.Config{Domain: "127.0.0.1", ChatDomain: "muc.example.test"})
}

// realFocusWith is realFocus with a config of the test's (Media and
// Metrics are set here).
func realFocusWith(t *testing.T, cfg focus.Config) (*focus.Focus, *prometheus.Registry) {
	t.Helper()
	var f *focus.Focus
	reg := prometheus.NewRegistry()
	events := make(chan mixer.Event, 256)
	m, err := mixer.New(mixer.Config{BindAddr: netip.MustParseAddr("127.0.0.1"), PortMin: 42000, PortMax: 42999,
		OnEvent: func(ev mixer.Event) {
			select {
			case events <- ev:
			default:
			}
		}, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	cfg.Media, cfg.Metrics = focus.NewMixerMedia(m), reg
	f = runFocus(t, cfg)
	route := f.MixerEvents()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case ev := <-events:
				route(ev)
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done) })
	return f, reg
}

// gauge reads one gauge from a registry.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// released checks that every mixer leg (its RTP ports) and every dialog is gone.
func released(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	waitFor(t, "ports and dialogs released", func() bool {
		return gauge(t, reg, "bridge_mixer_legs") == 0 && gauge(t, reg, "bridge_focus_dialogs_active") == 0
	})
}

// toneWAV writes seconds of a sine at freq, the padded 8 kHz mono file
// baresip's aufile plays.
func toneWAV(t *testing.T, freq float64, seconds int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), fmt.Sprintf("tone%.0f.wav", freq))
	if err := testpeer.WriteWAV(p, 8000, testpeer.Tone(freq, 8000, 8000*seconds, 0.3)); err != nil {
		t.Fatal(err)
	}
	return p
}

// recorded waits until a recording holds at least seconds of audio:
// sndfile finishes the file only as the call ends.
func recorded(t *testing.T, path string, seconds int) {
	t.Helper()
	waitFor(t, "recording "+path, func() bool {
		rate, samples, err := testpeer.ReadWAV(path)
		return err == nil && len(samples) >= seconds*rate
	})
}

// heard reads a phone's recording, skipping the first second (jitter
// buffers filling, the other phone not yet in), and measures two tones.
func heard(t *testing.T, path string, f1, f2 float64) (a1, a2 float64) {
	t.Helper()
	rate, samples, err := testpeer.ReadWAV(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if len(samples) < 2*rate {
		t.Fatalf("%s holds %d samples, want at least 2 s", path, len(samples))
	}
	s := samples[rate:]
	return testpeer.ToneAmplitude(s, f1, rate), testpeer.ToneAmplitude(s, f2, rate)
}

func TestRealPhonesHearEachOther(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "baresip")
	f, reg := realFocus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	a := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneWAV(t, 1000, 30)})
	b := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneWAV(t, 440, 30)})
	room := "sip:standup@" + f.Addr().String()
	for _, p := range []*focustest.Baresip{a, b} {
		if err := p.Dial(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two connected legs", func() bool {
		legs := f.Legs("standup")
		return len(legs) == 2 && legs[0].State == "connected" && legs[1].State == "connected"
	})
	time.Sleep(4 * time.Second) // let audio flow: the recordings are what is checked
	if err := a.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice gone", func() bool { return len(f.Legs("standup")) == 1 })
	// The focus hangs up the other side (as for a kick).
	if err := f.Kick(ctx, f.Legs("standup")[0].CallID, "test over"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "room empty", func() bool { return len(f.Legs("")) == 0 })
	released(t, reg)
	hearEachOther(t, a, b)
}

// hearEachOther checks the recordings of alice, who played 1000 Hz, and
// bob, who played 440 Hz: each hears the other and not themselves.
func hearEachOther(t *testing.T, a, b *focustest.Baresip) {
	t.Helper()
	waitFor(t, "recordings", func() bool { return len(a.Recordings()) > 0 && len(b.Recordings()) > 0 })
	recorded(t, a.Recordings()[0], 3)
	recorded(t, b.Recordings()[0], 3)

	a440, a1000 := heard(t, a.Recordings()[0], 440, 1000)
	b1000, b440 := heard(t, b.Recordings()[0], 1000, 440)
	t.Logf("alice hears 440 Hz at %.3f, 1000 Hz at %.3f; bob hears 1000 Hz at %.3f, 440 Hz at %.3f", a440, a1000, b1000, b440)
	if a440 < 0.05 || a1000 > a440/4 {
		t.Errorf("alice should hear bob's 440 Hz and not her own 1000 Hz: %.3f / %.3f", a440, a1000)
	}
	if b1000 < 0.05 || b440 > b1000/4 {
		t.Errorf("bob should hear alice's 1000 Hz and not his own 440 Hz: %.3f / %.3f", b1000, b440)
	}
}

func TestRealPhonesThreeParty(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "baresip", "linphonec")
	f, reg := realFocus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	a := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneWAV(t, 1000, 30)})
	b := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneWAV(t, 440, 30)})
	c := focustest.StartLinphone(t, toneWAV(t, 1700, 30))
	room := "sip:trio@" + f.Addr().String()
	for _, p := range []*focustest.Baresip{a, b} {
		if err := p.Dial(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	c.Call(room)
	waitFor(t, "three connected legs", func() bool {
		legs := f.Legs("trio")
		if len(legs) != 3 {
			return false
		}
		for _, l := range legs {
			if l.State != "connected" {
				return false
			}
		}
		return true
	})
	time.Sleep(6 * time.Second) // audio flows; a loaded machine needs the margin over the 3 s checked
	c.Terminate()
	waitFor(t, "linphone gone", func() bool { return len(f.Legs("trio")) == 2 })
	if err := a.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "room empty", func() bool { return len(f.Legs("")) == 0 })
	released(t, reg)
	waitFor(t, "recordings", func() bool { return len(a.Recordings()) > 0 && len(b.Recordings()) > 0 })
	recorded(t, a.Recordings()[0], 3)
	recorded(t, b.Recordings()[0], 3)
	recorded(t, c.Record, 3)

	check := func(who, path string, own float64, others ...float64) {
		rate, samples, err := testpeer.ReadWAV(path)
		if err != nil {
			t.Fatalf("%s recording: %v", who, err)
		}
		if len(samples) < 2*rate {
			t.Fatalf("%s recorded only %d samples", who, len(samples))
		}
		s := samples[rate:]
		self := testpeer.ToneAmplitude(s, own, rate)
		for _, o := range others {
			amp := testpeer.ToneAmplitude(s, o, rate)
			t.Logf("%s hears %.0f Hz at %.3f (own %.0f Hz at %.3f)", who, o, amp, own, self)
			if amp < 0.03 {
				t.Errorf("%s does not hear %.0f Hz (%.3f)", who, o, amp)
			}
			if self > amp/4 {
				t.Errorf("%s hears itself: %.0f Hz at %.3f", who, own, self)
			}
		}
	}
	check("alice", a.Recordings()[0], 1000, 440, 1700)
	check("bob", b.Recordings()[0], 440, 1000, 1700)
	check("linphone", c.Record, 1700, 1000, 440)
}
