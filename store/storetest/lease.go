package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cusax.dev/bridge/store"
)

// RunLeases is the conformance suite for store.Leases. newLeases returns a
// fresh backend (one per subtest). TTLs are short, so the whole run takes a
// few seconds; deadlines are generous for a loaded machine.
func RunLeases(t *testing.T, newLeases func(t *testing.T) store.Leases) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Leases)
	}{
		{"AcquireHeldRelease", testLeaseAcquireHeldRelease},
		{"Expiry", testLeaseExpiry},
		{"Renewal", testLeaseRenewal},
		{"StaleGrantIsPowerless", testLeaseStale},
		{"TokensIncrease", testLeaseTokens},
		{"ConcurrentAcquire", testLeaseConcurrent},
		{"Invalid", testLeaseInvalid},
		{"BatchRenew", testLeaseBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newLeases(t)) })
	}
}

func testLeaseAcquireHeldRelease(t *testing.T, s store.Leases) {
	a, err := s.AcquireLease(ctx(t), "room:a", "node1", 10*time.Second)
	if err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	if a.Name != "room:a" || a.Holder != "node1" || a.Token == 0 || !a.Expires.After(time.Now()) {
		t.Errorf("grant = %+v, want name room:a, holder node1, a token and a future expiry", a)
	}
	got, err := s.LeaseHolder(ctx(t), "room:a")
	if err != nil || got.Holder != "node1" || got.Token != a.Token {
		t.Errorf("LeaseHolder = %+v, %v; want node1 with token %d", got, err, a.Token)
	}
	for _, who := range []string{"node2", "node1"} {
		if _, err := s.AcquireLease(ctx(t), "room:a", who, time.Second); !errors.Is(err, store.ErrLeaseHeld) {
			t.Errorf("AcquireLease by %s of a held lease = %v, want ErrLeaseHeld", who, err)
		}
	}
	if _, err := s.LeaseHolder(ctx(t), "room:other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LeaseHolder(never granted) = %v, want ErrNotFound", err)
	}
	if err := s.ReleaseLease(ctx(t), a); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	if _, err := s.LeaseHolder(ctx(t), "room:a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LeaseHolder after release = %v, want ErrNotFound", err)
	}
	if err := s.ReleaseLease(ctx(t), a); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("second ReleaseLease = %v, want ErrLeaseLost", err)
	}
	b, err := s.AcquireLease(ctx(t), "room:a", "node2", 10*time.Second)
	if err != nil {
		t.Fatalf("AcquireLease after release: %v", err)
	}
	if b.Token <= a.Token {
		t.Errorf("token after release = %d, want > %d", b.Token, a.Token)
	}
}

// waitFree polls until nobody holds name.
func waitFree(t *testing.T, s store.Leases, name string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := s.LeaseHolder(ctx(t), name)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatalf("LeaseHolder: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %q still held 15 s after its TTL", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testLeaseExpiry(t *testing.T, s store.Leases) {
	a, err := s.AcquireLease(ctx(t), "component:x", "node1", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitFree(t, s, "component:x")
	if _, err := s.RenewLease(ctx(t), a, time.Second); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease after expiry = %v, want ErrLeaseLost", err)
	}
	b, err := s.AcquireLease(ctx(t), "component:x", "node2", 10*time.Second)
	if err != nil {
		t.Fatalf("takeover after expiry: %v", err)
	}
	if b.Token <= a.Token || b.Holder != "node2" {
		t.Errorf("takeover grant = %+v, want holder node2 and token > %d", b, a.Token)
	}
}

func testLeaseRenewal(t *testing.T, s store.Leases) {
	const ttl = 400 * time.Millisecond
	l, err := s.AcquireLease(ctx(t), "room:r", "node1", ttl)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(3 * ttl)
	for time.Now().Before(end) {
		time.Sleep(ttl / 4)
		nl, err := s.RenewLease(ctx(t), l, ttl)
		if err != nil {
			t.Fatalf("RenewLease: %v", err)
		}
		if nl.Token != l.Token || nl.Expires.Before(l.Expires) {
			t.Fatalf("renewed grant = %+v, want token %d and expiry not before %v", nl, l.Token, l.Expires)
		}
		l = nl
		if _, err := s.AcquireLease(ctx(t), "room:r", "node2", ttl); !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("AcquireLease of a renewed lease = %v, want ErrLeaseHeld", err)
		}
	}
	got, err := s.LeaseHolder(ctx(t), "room:r")
	if err != nil || got.Token != l.Token {
		t.Errorf("after renewals past the first TTL LeaseHolder = %+v, %v; want token %d", got, err, l.Token)
	}
}

func testLeaseStale(t *testing.T, s store.Leases) {
	old, err := s.AcquireLease(ctx(t), "room:s", "node1", 150*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitFree(t, s, "room:s")
	cur, err := s.AcquireLease(ctx(t), "room:s", "node2", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx(t), old); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ReleaseLease by the stale holder = %v, want ErrLeaseLost", err)
	}
	if _, err := s.RenewLease(ctx(t), old, 10*time.Second); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease by the stale holder = %v, want ErrLeaseLost", err)
	}
	// Same holder name, old token: still stale.
	forged := cur
	forged.Token = old.Token
	if _, err := s.RenewLease(ctx(t), forged, 10*time.Second); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease with the current holder but an old token = %v, want ErrLeaseLost", err)
	}
	got, err := s.LeaseHolder(ctx(t), "room:s")
	if err != nil || got.Holder != "node2" || got.Token != cur.Token {
		t.Errorf("LeaseHolder = %+v, %v; want node2 token %d untouched", got, err, cur.Token)
	}
}

func testLeaseTokens(t *testing.T, s store.Leases) {
	var last uint64
	for i := range 5 {
		l, err := s.AcquireLease(ctx(t), "room:t", fmt.Sprintf("node%d", i), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if l.Token <= last {
			t.Fatalf("grant %d token %d, want > %d", i, l.Token, last)
		}
		last = l.Token
		if err := s.ReleaseLease(ctx(t), l); err != nil {
			t.Fatal(err)
		}
	}
	other, err := s.AcquireLease(ctx(t), "room:u", "node1", 10*time.Second)
	if err != nil || other.Token == 0 {
		t.Errorf("another name's grant = %+v, %v; want its own token", other, err)
	}
}

// testLeaseConcurrent: in each round eight contenders acquire at once;
// exactly one wins, and while a winner holds the lease no other holds it.
func testLeaseConcurrent(t *testing.T, s store.Leases) {
	const contenders, rounds = 8, 10
	var holders atomic.Int32
	var last uint64
	for round := range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{})
		wins := make(chan store.Lease, contenders)
		errs := make(chan error, contenders)
		for i := range contenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				l, err := s.AcquireLease(context.Background(), "component:c", fmt.Sprintf("node%d", i), 10*time.Second)
				if errors.Is(err, store.ErrLeaseHeld) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if n := holders.Add(1); n != 1 {
					errs <- fmt.Errorf("%d holders at once", n)
				}
				time.Sleep(5 * time.Millisecond)
				holders.Add(-1)
				wins <- l
			}()
		}
		close(start)
		wg.Wait()
		close(wins)
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		var won []store.Lease
		for l := range wins {
			won = append(won, l)
		}
		if len(won) != 1 {
			t.Fatalf("round %d: %d contenders won, want exactly 1", round, len(won))
		}
		if won[0].Token <= last {
			t.Fatalf("round %d: token %d, want > %d", round, won[0].Token, last)
		}
		last = won[0].Token
		if err := s.ReleaseLease(ctx(t), won[0]); err != nil {
			t.Fatal(err)
		}
	}
}

func testLeaseInvalid(t *testing.T, s store.Leases) {
	cases := []struct {
		name, holder string
		ttl          time.Duration
	}{
		{"", "node1", time.Second},
		{"room:x", "", time.Second},
		{"room:x", "node1", 0},
	}
	for _, c := range cases {
		if _, err := s.AcquireLease(ctx(t), c.name, c.holder, c.ttl); err == nil {
			t.Errorf("AcquireLease(%q, %q, %v) = nil error", c.name, c.holder, c.ttl)
		}
	}
	if _, err := s.LeaseHolder(ctx(t), "room:x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an invalid request left a lease behind: %v", err)
	}
}

// testLeaseBatch: a backend offering store.LeaseBatch renews the live grants
// and reports the lost ones, one by one.
func testLeaseBatch(t *testing.T, s store.Leases) {
	b, ok := s.(store.LeaseBatch)
	if !ok {
		t.Skip("backend has no batch renewal")
	}
	live1, err := s.AcquireLease(ctx(t), "room:b1", "n1", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	live2, err := s.AcquireLease(ctx(t), "room:b2", "n1", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	lost, err := s.AcquireLease(ctx(t), "room:b3", "n1", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx(t), lost); err != nil {
		t.Fatal(err)
	}
	out, errs, err := b.RenewLeases(ctx(t), []store.Lease{live1, lost, live2}, 10*time.Second)
	if err != nil {
		t.Fatalf("RenewLeases: %v", err)
	}
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], store.ErrLeaseLost) {
		t.Fatalf("RenewLeases errors = %v, want [nil ErrLeaseLost nil]", errs)
	}
	if out[0].Token != live1.Token || out[2].Token != live2.Token || !out[0].Expires.After(live1.Expires) {
		t.Errorf("renewed = %+v, want the same tokens with later expiries", out)
	}
	// Past the first TTL the renewed grants still hold.
	time.Sleep(400 * time.Millisecond)
	for _, l := range []store.Lease{live1, live2} {
		if got, err := s.LeaseHolder(ctx(t), l.Name); err != nil || got.Token != l.Token {
			t.Errorf("LeaseHolder(%s) after the batch renewal = %+v, %v", l.Name, got, err)
		}
	}
}
