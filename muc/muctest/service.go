package muctest

import (
	"context"
	"testing"
	"time"

	"cusax.dev/bridge/muc"
)

// StartService runs a muc.Service for component domain on p (Domain,
// ComponentAddr and Secret are filled in from p when empty), waits until
// its link is up and stops it in t.Cleanup. It returns a stop function for
// tests that need to stop it earlier (e.g. to restart the bridge); calling
// it twice is harmless.
// p may be nil when cfg names the server (another XMPP server than Prosody).
func StartService(t testing.TB, p *Prosody, component string, cfg muc.Config) (*muc.Service, func()) {
	t.Helper()
	if cfg.Domain == "" {
		cfg.Domain = component
	}
	if cfg.ComponentAddr == "" && p != nil {
		cfg.ComponentAddr = p.ComponentAddr
	}
	if cfg.Secret == "" && p != nil {
		cfg.Secret = p.ComponentSecret
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin = 50 * time.Millisecond
	}
	if cfg.ReconnectMax == 0 {
		cfg.ReconnectMax = 500 * time.Millisecond
	}
	s, err := muc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("muc.Service.Serve returned %v", err)
			}
		case <-time.After(Timeout):
			t.Errorf("muc.Service.Serve did not return within %v of cancel", Timeout)
		}
	}
	t.Cleanup(stop)
	WaitReady(t, s)
	return s, stop
}

// WaitReady waits until the service's component link is up.
func WaitReady(t testing.TB, s interface{ Ready() bool }) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !s.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("component link not up within %v", Timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
