package focus_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
)

// TestEveryPathReleases drives calls through their endings (BYE from the
// phone, kick, refusal, CANCEL-free failure, watcher) and checks that
// media legs, dialogs, subscriptions and goroutines all come back.
func TestEveryPathReleases(t *testing.T) {
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	fm := focustest.NewFakeMedia()
	reg := prometheus.NewRegistry()
	f, err := focus.New(focus.Config{Listen: "127.0.0.1:0", Media: fm, Metrics: reg, MaxCallsPerRoom: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := f.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	p := focustest.NewRawPhone(t, f.Addr())
	w := focustest.NewWatcher(t, f.Addr(), "leaky")
	if code, err := w.Subscribe(wctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE %d %v", code, err)
	}
	var calls []*focustest.Call
	for i := 0; i < 4; i++ {
		c := p.Call("leaky")
		c.Invite("", focustest.Offer(40000+2*i, "0"))
		calls = append(calls, c)
	}
	calls[0].Bye()
	focustest.WaitFor(t, "three connected", func() bool {
		l := f.Legs("leaky")
		return len(l) == 2 && l[0].State == "connected" && l[1].State == "connected"
	})
	go func() {
		for i := 0; i < 2; i++ {
			p.Reply(p.Request("BYE"), 200, "OK", "")
		}
	}()
	if err := f.Kick(wctx, f.Legs("leaky")[0].CallID, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := f.Shutdown(wctx); err != nil {
		t.Fatal(err)
	}
	if n := fm.Open(); n != 0 {
		t.Errorf("%d media legs still open", n)
	}
	if n := f.Subscriptions(); n != 0 {
		t.Errorf("%d subscriptions left", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "bridge_focus_dialogs_active", "bridge_focus_subscriptions_active":
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 0 {
				t.Errorf("%s = %v after shutdown", mf.GetName(), v)
			}
		}
	}
	// sipgo's transaction timers end within 64*T1; give them that long.
	deadline := time.Now().Add(40 * time.Second)
	for runtime.NumGoroutine() > before+4 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+4 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Serve returned, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
