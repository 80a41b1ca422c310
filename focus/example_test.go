package focus_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"sync/atomic"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/mixer"
)

// Example wires the focus to the mixer as cmd/bridge does: the mixer's
// events go to the focus (DTMF, RTP timeouts), and sync sees admissions and
// events through the two hooks.
func Example() {
	// The mixer is made first, so its events reach the focus through a
	// pointer set once the focus exists.
	var route atomic.Pointer[func(mixer.Event)]
	m, err := mixer.New(mixer.Config{
		BindAddr: netip.MustParseAddr("127.0.0.1"),
		OnEvent: func(ev mixer.Event) {
			if r := route.Load(); r != nil {
				(*r)(ev)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	f, err := focus.New(focus.Config{
		Listen:     "127.0.0.1:5060",
		Domain:     "example.test",
		ChatDomain: "conference.example.test", // conference-info advertises xmpp:<room>@conference.example.test?join
		Media:      focus.NewMixerMedia(m),
		Admit: func(ctx context.Context, c focus.CallFacts) focus.Admission {
			return focus.Admission{Verdict: focus.Accept}
		},
		OnEvent: func(ev focus.Event) {},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		panic(err)
	}
	r := f.MixerEvents()
	route.Store(&r)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Serve(ctx)
	_ = f.WaitReady(ctx)
}
