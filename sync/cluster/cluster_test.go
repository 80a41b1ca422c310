package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt/bolttest"
	"cusax.dev/bridge/sync/cluster"
)

func TestNewConfig(t *testing.T) {
	st := bolttest.Open(t)
	cases := []struct {
		name string
		cfg  cluster.Config
		ok   bool
	}{
		{"complete", cluster.Config{Store: st, NodeID: "a", SIPURI: "sip:127.0.0.1:5060"}, true},
		{"short TTL allowed at 30ms", cluster.Config{Store: st, NodeID: "a", SIPURI: "sip:127.0.0.1:5060", LeaseTTL: 30 * time.Millisecond}, true},
		{"no store", cluster.Config{NodeID: "a", SIPURI: "sip:127.0.0.1:5060"}, false},
		{"no node ID", cluster.Config{Store: st, SIPURI: "sip:127.0.0.1:5060"}, false},
		{"no SIP URI", cluster.Config{Store: st, NodeID: "a"}, false},
		{"negative TTL", cluster.Config{Store: st, NodeID: "a", SIPURI: "sip:127.0.0.1:5060", LeaseTTL: -time.Second}, false},
		{"TTL too short to renew", cluster.Config{Store: st, NodeID: "a", SIPURI: "sip:127.0.0.1:5060", LeaseTTL: 10 * time.Millisecond}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := cluster.New(c.cfg)
			if c.ok {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if got.NodeID() != c.cfg.NodeID || got.Tick() <= 0 || got.Tick() > 5*time.Second/3 {
					t.Fatalf("New gave node %q tick %v", got.NodeID(), got.Tick())
				}
				return
			}
			if !errors.Is(err, cluster.ErrConfig) {
				t.Fatalf("New(%+v) = %v, want an error wrapping ErrConfig", c.cfg, err)
			}
		})
	}
}

// TestDefaults: zero TTL means 5 s, renewed every third of it.
func TestDefaults(t *testing.T) {
	c, err := cluster.New(cluster.Config{Store: bolttest.Open(t), NodeID: "a", SIPURI: "sip:127.0.0.1:5060"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Tick(), 5*time.Second/3; got != want {
		t.Fatalf("Tick() = %v with the default TTL, want %v", got, want)
	}
	if c.Draining() || !c.Ready() || len(c.Owned()) != 0 {
		t.Fatalf("a new Cluster: draining %v, ready %v, owned %v; want false, true, none", c.Draining(), c.Ready(), c.Owned())
	}
}

// TestSingleNodeLifecycle runs one node on the embedded store: the first
// call places the room here, renewals keep the same grant alive well past
// its TTL while the room is in use, and once unused it is released after
// IdleGrace and placed afresh by the next call.
func TestSingleNodeLifecycle(t *testing.T) {
	// A TTL a loaded machine cannot miss by accident, short enough to
	// watch several renewals.
	const ttl, grace = 600 * time.Millisecond, 800 * time.Millisecond
	st := bolttest.Open(t)
	a := startNode(t, st, "a", nodeOpts{ttl: ttl, grace: grace})

	if r := a.route(t, "standup"); !r.Here || r.RetryAfter != 0 {
		t.Fatalf("first Route on the only node = %+v, want Here", r)
	}
	a.setBusy("standup", true)
	first, ok := holder(t, st, "standup")
	if !ok || first.Holder != "a" || !a.Owns("standup") {
		t.Fatalf("after placement: lease %+v (held %v), Owns %v; want held by a", first, ok, a.Owns("standup"))
	}
	if got := a.Owned(); len(got) != 1 || got[0] != "standup" {
		t.Fatalf("Owned() = %v, want [standup]", got)
	}

	// Renewals: the same grant (token) is still current three TTLs later.
	start := time.Now()
	waitFor(t, "the lease renewed past three TTLs", func() bool {
		l, ok := holder(t, st, "standup")
		if !ok || l.Token != first.Token || l.Holder != "a" {
			t.Fatalf("lease of a busy room is now %+v (held %v), want token %d of a renewed", l, ok, first.Token)
		}
		return time.Since(start) > 3*ttl
	})
	if r := a.route(t, "standup"); !r.Here {
		t.Fatalf("Route for an owned room = %+v, want Here", r)
	}

	a.setBusy("standup", false)
	unused := time.Now()
	waitFor(t, "the idle room released", func() bool {
		_, held := holder(t, st, "standup")
		return !held && !a.Owns("standup")
	})
	// The room was last seen busy at most a tick before unused.
	if took := time.Since(unused); took < grace-a.Tick() {
		t.Fatalf("idle room released %v after its last call, before IdleGrace %v", took, grace)
	}

	if r := a.route(t, "standup"); !r.Here {
		t.Fatalf("Route after the release = %+v, want the room placed here again", r)
	}
	if l, ok := holder(t, st, "standup"); !ok || l.Token <= first.Token {
		t.Fatalf("new grant %+v (held %v), want a token above %d", l, ok, first.Token)
	}
}

// TestDrainAlone: a draining node keeps what it owns but, alone in the
// registry, has nowhere to put a new room and says so with a Retry-After.
func TestDrainAlone(t *testing.T) {
	st := bolttest.Open(t)
	a := startNode(t, st, "a", nodeOpts{ttl: 300 * time.Millisecond, grace: time.Minute})
	if r := a.route(t, "kept"); !r.Here {
		t.Fatalf("Route = %+v, want Here", r)
	}
	if err := a.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !a.Draining() {
		t.Fatal("Draining() false after Drain")
	}
	waitFor(t, "the registry to show a draining", func() bool {
		nodes, err := st.ListNodes(t.Context())
		return err == nil && len(nodes) == 1 && nodes[0].Draining
	})
	if r := a.route(t, "kept"); !r.Here {
		t.Fatalf("Route for a room owned by a draining node = %+v, want Here", r)
	}
	r := a.route(t, "new")
	if r.Here || r.RetryAfter <= 0 || r.Why == "" {
		t.Fatalf("Route for a new room with every node draining = %+v, want a Retry-After and a reason", r)
	}
	if _, held := holder(t, st, "new"); held {
		t.Fatal("a room was placed though every node drains")
	}
}

// TestShutdownReleases: a planned stop frees every room and the registry
// entry at once, so the rooms need not wait for their TTL.
func TestShutdownReleases(t *testing.T) {
	st := bolttest.Open(t)
	a := startNode(t, st, "a", nodeOpts{ttl: time.Minute, grace: time.Minute})
	for _, room := range []string{"r1", "r2", "r3"} {
		if r := a.route(t, room); !r.Here {
			t.Fatalf("Route(%s) = %+v, want Here", room, r)
		}
	}
	a.crash() // Serve stopped first: this test is about Shutdown alone
	if err := a.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, room := range []string{"r1", "r2", "r3"} {
		if l, held := holder(t, st, room); held {
			t.Fatalf("after Shutdown the lease of %s is still held: %+v", room, l)
		}
	}
	if len(a.Owned()) != 0 {
		t.Fatalf("Owned() after Shutdown = %v, want none", a.Owned())
	}
	nodes, err := st.ListNodes(t.Context())
	if err != nil || len(nodes) != 0 {
		t.Fatalf("registry after Shutdown = %+v, %v; want empty", nodes, err)
	}
}

// TestShutdownWhileServing: cmd/bridge runs shutdown hooks while the
// services still run (cmd/bridge/lifecycle.go), so Serve ticks on after
// Shutdown. The node must not come back into the registry as a taker of
// new rooms, or the other nodes place rooms on a process about to exit.
func TestShutdownWhileServing(t *testing.T) {
	st := bolttest.Open(t)
	a := startNode(t, st, "a", nodeOpts{ttl: 150 * time.Millisecond, grace: time.Minute})
	waitRegistered(t, st, "a")
	if r := a.route(t, "r1"); !r.Here {
		t.Fatalf("Route = %+v, want Here", r)
	}
	if err := a.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Serve keeps ticking (every 50 ms); watch five ticks.
	deadline := time.Now().Add(5 * a.Tick())
	for time.Now().Before(deadline) {
		nodes, err := st.ListNodes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.ID == "a" && !n.Draining {
				t.Fatalf("after Shutdown, with Serve still running, node a is back in the registry taking new rooms: %+v", n)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, held := holder(t, st, "r1"); held {
		t.Fatal("room lease held again after Shutdown")
	}
	// A call that still reaches the stopping node does not place a new
	// room on it: that room would be stranded for a TTL when it exits.
	if r := a.route(t, "late"); r.Here {
		t.Fatalf("Route after Shutdown = %+v: a room placed on a stopping node", r)
	}
}

// TestRoomLeaseName pins the lease naming other packages read.
func TestRoomLeaseName(t *testing.T) {
	st := bolttest.Open(t)
	a := startNode(t, st, "a", nodeOpts{ttl: time.Minute, grace: time.Minute})
	if r := a.route(t, "weekly"); !r.Here {
		t.Fatalf("Route = %+v", r)
	}
	l, err := st.LeaseHolder(t.Context(), "room:weekly")
	if err != nil || l.Holder != "a" || l.Name != store.RoomLeaseName("weekly") {
		t.Fatalf("LeaseHolder(room:weekly) = %+v, %v; want held by a", l, err)
	}
}

// TestUnreachableEntrySkipped: a registry entry without a SIP address (a
// process that holds no SIP listener) takes no rooms however idle it looks,
// and a room leased in its name is answered with a Retry-After, since
// phones cannot be sent there.
func TestUnreachableEntrySkipped(t *testing.T) {
	st := bolttest.Open(t)
	a := startNode(t, st, "a", nodeOpts{ttl: time.Minute, grace: time.Minute, calls: 5})
	waitRegistered(t, st, "a")
	if err := st.Heartbeat(t.Context(), store.Node{ID: "x"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, room := range []string{"r1", "r2", "r3"} {
		if r := a.route(t, room); !r.Here {
			t.Fatalf("Route(%s) = %+v, want Here: x has no SIP address", room, r)
		}
	}
	if _, err := st.AcquireLease(t.Context(), store.RoomLeaseName("x-room"), "x", time.Minute); err != nil {
		t.Fatal(err)
	}
	if r := a.route(t, "x-room"); r.Here || r.RetryAfter <= 0 {
		t.Fatalf("Route for a room held by a node without a SIP address = %+v, want a Retry-After", r)
	}
}

// TestRestartSameID: a node that crashed and came back under the same
// NodeID finds the leases still held in its name and adopts them at once,
// same grant, instead of waiting for them to lapse.
func TestRestartSameID(t *testing.T) {
	st := bolttest.Open(t)
	a := startNode(t, st, "a", nodeOpts{ttl: time.Minute, grace: time.Minute})
	if r := a.route(t, "standup"); !r.Here {
		t.Fatalf("Route = %+v, want Here", r)
	}
	before, _ := holder(t, st, "standup")
	a.crash()
	again := startNode(t, st, "a", nodeOpts{ttl: time.Minute, grace: time.Minute})
	if again.Owns("standup") {
		t.Fatal("a fresh Cluster owns a room before any Route")
	}
	if r := again.route(t, "standup"); !r.Here {
		t.Fatalf("Route on the restarted node = %+v, want Here (its own lease)", r)
	}
	if l, _ := holder(t, st, "standup"); l.Token != before.Token || l.Holder != "a" {
		t.Fatalf("lease after the restart = %+v, want a's grant %d kept", l, before.Token)
	}
}

// TestDrainNotOverwritten: Drain reports at once, and a heartbeat that
// was already on its way with the node's state from before Drain must not
// land after it and mark the node as taking rooms again until the next
// tick.
func TestDrainNotOverwritten(t *testing.T) {
	st := newHeldHeartbeats(bolttest.Open(t))
	a := startNode(t, st, "a", nodeOpts{ttl: 3 * time.Second, grace: time.Minute})
	waitRegistered(t, st, "a")
	st.mu.Lock()
	st.arm = true
	st.mu.Unlock()
	select {
	case <-st.held: // Serve's next heartbeat, computed before Drain
	case <-time.After(15 * time.Second):
		t.Fatal("no heartbeat within 15 s")
	}
	drained := make(chan error, 1)
	go func() { drained <- a.Drain(context.Background()) }()
	select {
	case err := <-drained:
		drained <- err
	case <-time.After(300 * time.Millisecond): // Drain waits for the write in flight
	}
	close(st.release)
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	<-st.written
	nodes, err := st.ListNodes(t.Context())
	if err != nil || len(nodes) != 1 {
		t.Fatalf("registry = %+v, %v; want a alone", nodes, err)
	}
	if !nodes[0].Draining {
		t.Fatalf("after Drain returned the registry shows %+v: a heartbeat from before Drain overwrote it", nodes[0])
	}
}
