package muc_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt/bolttest"
)

// frozenLeases stands for a node whose store access froze: once frozen,
// every lease call fails, as it would for a paused or cut-off process.
type frozenLeases struct {
	muc.LinkLeases
	frozen atomic.Bool
}

var errFrozen = errors.New("test: this node's store access is frozen")

func (f *frozenLeases) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if f.frozen.Load() {
		return store.Lease{}, errFrozen
	}
	return f.LinkLeases.AcquireLease(ctx, name, holder, ttl)
}

func (f *frozenLeases) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if f.frozen.Load() {
		return store.Lease{}, errFrozen
	}
	return f.LinkLeases.RenewLease(ctx, l, ttl)
}

// Two nodes share one component domain through the link lease: one holds
// the link, the other stands by; when the holder can no longer renew, it
// drops the link and the other takes over within the lease's time to live,
// and chat users are served again.
func TestIntegrationLinkLeaseFailover(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody")
	testpeer.NeedPythonModule(t, "slixmpp")
	p := muctest.NewProsody(t, muctest.ProsodyConfig{})
	if err := p.Register("alice", "alice-pass"); err != nil {
		t.Fatal(err)
	}
	st := bolttest.Open(t)
	const ttl = time.Second

	nodeA := &frozenLeases{LinkLeases: st}
	a, _ := muctest.StartService(t, p, p.Components[0], muc.Config{
		Store: st, Leases: nodeA, NodeID: "a", LinkLeaseTTL: ttl, Registerer: prometheus.NewRegistry(),
	})

	b, err := muc.New(muc.Config{
		Domain: p.Components[0], ComponentAddr: p.ComponentAddr, Secret: p.ComponentSecret,
		Store: st, Leases: st, NodeID: "b", LinkLeaseTTL: ttl,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond,
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- b.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("node b Serve: %v", err)
		}
	})

	waitUntil(t, "node b standing by", b.Standby)
	// Over several renewals the holder keeps the link and b keeps waiting.
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !a.Ready() || b.Ready() || !b.Standby() {
			t.Fatalf("while a renews: a ready %v, b ready %v, b standby %v; want a holding, b waiting", a.Ready(), b.Ready(), b.Standby())
		}
	}

	// What the holder saved after b started (b loaded the store then) is
	// what b must serve once it takes over: a room and its ban.
	saved := store.Room{Name: "board", Config: muc.DefaultRoomConfig(), Created: time.Now()}
	saved.Config.Persistent, saved.Config.Title = true, "Board"
	if err := st.PutRoom(ctx, saved); err != nil {
		t.Fatal(err)
	}
	if err := st.SetAffiliation(ctx, "board", store.AffiliationEntry{JID: "mallory@example.test", Affiliation: store.AffiliationOutcast}); err != nil {
		t.Fatal(err)
	}

	nodeA.frozen.Store(true)
	waitUntil(t, "node a dropping the link", func() bool { return !a.Ready() && a.Standby() })
	waitUntil(t, "node b taking the link over", func() bool { return b.Ready() && !b.Standby() })
	var title string
	for _, r := range b.Rooms() {
		if r.Name == "board" {
			title = r.Config.Title
		}
	}
	if title != "Board" {
		t.Errorf("the new holder serves room board with title %q, want the saved \"Board\"", title)
	}
	if aff, err := b.Affiliation("board", "mallory@example.test"); err != nil || aff != store.AffiliationOutcast {
		t.Errorf("the new holder has mallory as %q (%v), want the saved ban", aff, err)
	}

	alice := muctest.NewClient(t, p, "alice", "lease")
	if joined := alice.Join("standup@"+p.Components[0], "Alice", muctest.JoinOptions{}); !joined.OK {
		t.Fatalf("joining through the new holder: %s", joined.Error)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(muctest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
