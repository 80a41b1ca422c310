package muc

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	lo, hi := func() float64 { return 0 }, func() float64 { return 0.999999 }
	min, max := 100*time.Millisecond, 2*time.Second
	cases := []struct {
		n        int
		from, to time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 800 * time.Millisecond, 1600 * time.Millisecond},
		{5, time.Second, 2 * time.Second}, // capped
		{100, time.Second, 2 * time.Second},
	}
	for _, c := range cases {
		if got := backoff(c.n, min, max, lo); got != c.from {
			t.Errorf("backoff(%d) with jitter 0 = %v, want %v", c.n, got, c.from)
		}
		if got := backoff(c.n, min, max, hi); got < c.to-time.Millisecond || got > c.to {
			t.Errorf("backoff(%d) with jitter ~1 = %v, want ~%v", c.n, got, c.to)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, d := range []string{"", "room@conference.example.test", "conference.example.test/res", "a@b@c"} {
		if _, err := New(Config{Domain: d}); err == nil {
			t.Errorf("New with domain %q succeeded", d)
		}
	}
}

// With nothing listening, Serve keeps retrying, counts every attempt, is
// never Ready, and returns nil when its context ends.
func TestServeRetriesUntilCanceled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h := newHarness(t, func(c *Config) {
		c.ComponentAddr = addr
		c.ReconnectMin, c.ReconnectMax = time.Millisecond, 5*time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.s.Serve(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for readCounter(h.s.m.reconnects) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 3 reconnect attempts in 10 s")
		}
		if h.s.Ready() {
			t.Fatal("Ready with no server")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

// Above highWater the reader waits for the writer instead of queueing
// without bound; below it, it does not wait.
func TestWaitDrained(t *testing.T) {
	h := newHarness(t, nil)
	h.s.ready.Store(true)
	for range highWater + 1 {
		h.s.send(newElem(nsClient, "message"))
	}
	done := make(chan struct{})
	go func() { h.s.waitDrained(context.Background()); close(done) }()
	select {
	case <-done:
		t.Fatal("waitDrained returned with the queue above high water")
	case <-time.After(100 * time.Millisecond):
	}
	h.s.takeOut()
	h.s.out.drained <- struct{}{}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("waitDrained still blocked after the queue drained")
	}
	// With the link down, nothing beyond maxQueued is kept.
	h.s.ready.Store(false)
	for range maxQueued + 10 {
		h.s.send(newElem(nsClient, "message"))
	}
	if n := h.s.queued(); n != maxQueued {
		t.Errorf("queued %d with the link down, want %d", n, maxQueued)
	}
}
