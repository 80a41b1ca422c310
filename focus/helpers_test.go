package focus_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
)

// startFocus runs a focus on a free loopback port until the test ends.
func startFocus(t testing.TB, cfg focus.Config) (*focus.Focus, *focustest.FakeMedia, *focustest.EventLog) {
	t.Helper()
	fm, _ := cfg.Media.(*focustest.FakeMedia)
	if cfg.Media == nil {
		fm = focustest.NewFakeMedia()
		cfg.Media = fm
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Domain == "" {
		cfg.Domain = "example.test"
	}
	log := &focustest.EventLog{}
	if cfg.OnEvent == nil {
		cfg.OnEvent = log.Add
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	return serveFocus(t, cfg), fm, log
}

// serveFocus builds a focus from cfg, serves it until the test ends and
// returns it once it is ready.
func serveFocus(t testing.TB, cfg focus.Config) *focus.Focus {
	t.Helper()
	f, err := focus.New(cfg)
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
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Serve did not return")
		}
	})
	return f
}

var (
	offer   = focustest.Offer
	waitFor = focustest.WaitFor
)

func newRawPhone(t testing.TB, f *focus.Focus) *focustest.RawPhone {
	return focustest.NewRawPhone(t, f.Addr())
}
