package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/sync/cluster"
)

// trio starts three nodes, each with its own connection to one real
// redis-server, reporting the given loads, and waits until all three are in
// the registry.
func trio(t *testing.T, url string, o nodeOpts, loads [3]int64) (a, b, c *node) {
	t.Helper()
	ns := make([]*node, 3)
	for i, id := range []string{"a", "b", "c"} {
		oo := o
		oo.calls = loads[i]
		ns[i] = startNode(t, openRedis(t, url), id, oo)
	}
	waitRegistered(t, ns[0].store, "a", "b", "c")
	return ns[0], ns[1], ns[2]
}

// TestPlaceRedirectAdopt: the first Route for a room places it on the
// least loaded node and redirects there; any other node redirects there
// too; the chosen node's own Route adopts the grant without a second
// placement; renewals keep it while in use; once idle it is released.
func TestPlaceRedirectAdopt(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	const ttl, grace = 600 * time.Millisecond, 800 * time.Millisecond
	a, b, c := trio(t, srv.URL, nodeOpts{ttl: ttl, grace: grace}, [3]int64{2, 0, 2})

	r := a.route(t, "standup")
	if r.Here || r.RetryAfter != 0 || r.Owner.ID != "b" || r.Owner.SIPURI != b.uri {
		t.Fatalf("a.Route for a new room = %+v, want a redirect to the least loaded b at %s", r, b.uri)
	}
	placed, ok := holder(t, a.store, "standup")
	if !ok || placed.Holder != "b" {
		t.Fatalf("after placement the lease is %+v (held %v), want held in b's name", placed, ok)
	}
	if b.Owns("standup") {
		t.Fatal("b owns the room before any call reached it")
	}
	if r := c.route(t, "standup"); r.Here || r.Owner.ID != "b" || r.Owner.SIPURI != b.uri {
		t.Fatalf("c.Route for a room placed on b = %+v, want a redirect to b", r)
	}
	if r := b.route(t, "standup"); !r.Here {
		t.Fatalf("b.Route for the room placed on it = %+v, want Here (adopted)", r)
	}
	b.setBusy("standup", true)
	if !b.Owns("standup") || a.Owns("standup") || c.Owns("standup") {
		t.Fatalf("owners after adoption: a %v, b %v, c %v; want b alone", a.Owns("standup"), b.Owns("standup"), c.Owns("standup"))
	}

	start := time.Now()
	waitFor(t, "b's lease renewed past three TTLs", func() bool {
		l, ok := holder(t, a.store, "standup")
		if !ok || l.Token != placed.Token || l.Holder != "b" {
			t.Fatalf("lease of b's busy room is now %+v (held %v), want token %d of b renewed", l, ok, placed.Token)
		}
		return time.Since(start) > 3*ttl
	})
	if r := a.route(t, "standup"); r.Owner.ID != "b" {
		t.Fatalf("a.Route after renewals = %+v, want a redirect to b", r)
	}

	b.setBusy("standup", false)
	waitFor(t, "the idle room released", func() bool {
		_, held := holder(t, a.store, "standup")
		return !held && !b.Owns("standup")
	})
}

// TestPlacedButNeverCalled: a placement whose redirected call never
// arrives lapses by itself after the TTL.
func TestPlacedButNeverCalled(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	a, _, _ := trio(t, srv.URL, nodeOpts{ttl: 300 * time.Millisecond, grace: time.Minute}, [3]int64{1, 0, 1})
	if r := a.route(t, "ghost"); r.Owner.ID != "b" {
		t.Fatalf("a.Route = %+v, want a redirect to b", r)
	}
	waitFor(t, "the unclaimed placement to lapse", func() bool {
		_, held := holder(t, a.store, "ghost")
		return !held
	})
}

// TestBurstSpreads: rooms placed in a burst by one node, before any
// heartbeat can report the new load, spread over the idle nodes instead of
// piling onto the one that looked least loaded at the start. A call routed
// Here is admitted at once, so this node's own load grows with it.
func TestBurstSpreads(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	a, _, _ := trio(t, srv.URL, nodeOpts{ttl: time.Minute, grace: time.Minute}, [3]int64{0, 0, 0})
	count := map[string]int{}
	for i := range 30 {
		r := a.route(t, fmt.Sprintf("burst-%d", i))
		switch {
		case r.Here:
			count["a"]++
			a.calls.Add(1)
		case r.Owner.ID != "":
			count[r.Owner.ID]++
		default:
			t.Fatalf("Route(burst-%d) = %+v, want a placement", i, r)
		}
	}
	for _, id := range []string{"a", "b", "c"} {
		if count[id] < 5 {
			t.Fatalf("30 rooms placed in a burst over three idle nodes: %v; want each node at least 5", count)
		}
	}
}

// TestDrainSkipsNode: after Drain, placement on every node skips the
// draining one, which keeps the rooms it owns.
func TestDrainSkipsNode(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	a, b, c := trio(t, srv.URL, nodeOpts{ttl: time.Minute, grace: time.Minute}, [3]int64{5, 0, 5})
	if r := b.route(t, "kept"); !r.Here {
		t.Fatalf("b.Route = %+v, want Here on the least loaded node", r)
	}
	if err := b.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		room := fmt.Sprintf("new-%d", i)
		for _, n := range []*node{a, b, c} {
			r := n.route(t, room)
			switch {
			case r.Here && n == b, r.Owner.ID == "b":
				t.Fatalf("%s.Route(%s) = %+v: placed on the draining node b", n.id, room, r)
			case !r.Here && r.Owner.ID == "":
				t.Fatalf("%s.Route(%s) = %+v, want a placement on a or c", n.id, room, r)
			}
		}
	}
	if r := a.route(t, "kept"); r.Owner.ID != "b" {
		t.Fatalf("a.Route for the draining node's room = %+v, want a redirect to b", r)
	}
	if r := b.route(t, "kept"); !r.Here {
		t.Fatalf("b.Route for its own room while draining = %+v, want Here", r)
	}
}

// TestCrashReplaced: a node that dies without Shutdown keeps its rooms
// until their leases lapse; meanwhile no other node takes them, and once
// the owner has dropped out of the registry callers are told to retry
// (503) rather than sent to the dead node. Then the room is placed on a
// live node with a newer fencing token.
func TestCrashReplaced(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	const ttl = 900 * time.Millisecond
	a, b, _ := trio(t, srv.URL, nodeOpts{ttl: ttl, grace: time.Minute}, [3]int64{1, 0, 1})
	if r := a.route(t, "standup"); r.Owner.ID != "b" {
		t.Fatalf("a.Route = %+v, want a redirect to b", r)
	}
	if r := b.route(t, "standup"); !r.Here {
		t.Fatalf("b.Route = %+v, want Here", r)
	}
	old, _ := holder(t, a.store, "standup")
	b.crash()

	var answers []string
	retried := false
	var final cluster.Route
	waitFor(t, "the dead node's room placed again", func() bool {
		r := a.route(t, "standup")
		switch {
		case r.Here || (r.Owner.ID != "" && r.Owner.ID != "b"):
			final = r
			return true
		case r.RetryAfter > 0:
			retried = true
			answers = append(answers, "retry")
		case r.Owner.ID == "b":
			answers = append(answers, "b")
		default:
			t.Fatalf("a.Route after b died = %+v", r)
		}
		return false
	})
	l, ok := holder(t, a.store, "standup")
	if !ok || l.Holder == "b" || l.Token <= old.Token {
		t.Fatalf("after re-placement the lease is %+v (held %v), want a live node with a token above %d", l, ok, old.Token)
	}
	if final.Here != (l.Holder == "a") {
		t.Fatalf("a.Route answered %+v but the lease is held by %s", final, l.Holder)
	}
	t.Logf("a.Route answers until the room was placed again: %s", compact(answers))
	if !retried {
		t.Fatalf("until b's lease lapsed a.Route answered only %v: callers were sent to the dead node, never told to retry", compact(answers))
	}
	if i := slices.Index(answers, "retry"); slices.Contains(answers[i:], "b") {
		t.Fatalf("a.Route answered %v: back to the dead node after declaring it gone", compact(answers))
	}
}

// TestShutdownReplacedAtOnce: a node stopping on purpose frees its rooms
// for the others at once, long before the (here one minute) TTL.
func TestShutdownReplacedAtOnce(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	a, b, _ := trio(t, srv.URL, nodeOpts{ttl: time.Minute, grace: time.Minute}, [3]int64{1, 0, 1})
	if r := b.route(t, "standup"); !r.Here {
		t.Fatalf("b.Route = %+v, want Here", r)
	}
	b.crash()
	if err := b.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := a.route(t, "standup")
	if !r.Here && (r.Owner.ID == "" || r.Owner.ID == "b") {
		t.Fatalf("a.Route right after b's Shutdown = %+v, want the room placed on a live node", r)
	}
	nodes, err := a.store.ListNodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.ID == "b" {
			t.Fatalf("b still in the registry after Shutdown: %+v", nodes)
		}
	}
}

// TestRedisOutage: while Redis is down the owner keeps answering Here for
// its rooms and refuses new ones with a Retry-After. Redis comes back
// empty (no persistence): the owner takes its leases again, except one
// another node grabbed first, which it gives up and reports through
// OnLost.
func TestRedisOutage(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	gated := &gatedStore{Store: openRedis(t, srv.URL)}
	a := startNode(t, gated, "a", nodeOpts{ttl: 600 * time.Millisecond, grace: time.Minute})
	other := openRedis(t, srv.URL)
	for _, room := range []string{"kept", "grabbed"} {
		if r := a.route(t, room); !r.Here {
			t.Fatalf("a.Route(%s) = %+v, want Here", room, r)
		}
		a.setBusy(room, true)
	}

	srv.Kill()
	waitFor(t, "a to notice the outage", func() bool { return !a.Ready() })
	if r := a.route(t, "kept"); !r.Here {
		t.Fatalf("a.Route for its own room during the outage = %+v, want Here", r)
	}
	r := a.route(t, "new")
	if r.Here || r.RetryAfter <= 0 || r.Why == "" {
		t.Fatalf("a.Route for a new room during the outage = %+v, want a Retry-After and a reason", r)
	}

	gated.gate.Lock() // a may not renew before "grabbed" is taken
	srv.Restart(t)
	var grab store.Lease
	waitFor(t, "another node to grab a room on the empty Redis", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var err error
		grab, err = other.AcquireLease(ctx, store.RoomLeaseName("grabbed"), "z", time.Minute)
		return err == nil
	})
	gated.gate.Unlock()

	select {
	case room := <-a.lost:
		if room != "grabbed" {
			t.Fatalf("OnLost(%q), want grabbed", room)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("OnLost not called within 15 s for the room another node holds")
	}
	if a.Owns("grabbed") {
		t.Fatal("a still owns the room another node took")
	}
	waitFor(t, "a's lease of kept taken again", func() bool {
		if !a.Owns("kept") {
			t.Fatal("a gave up kept, which nobody else took")
		}
		l, ok := holder(t, other, "kept")
		return ok && l.Holder == "a"
	})
	if l, _ := holder(t, other, "grabbed"); l.Holder != "z" || l.Token != grab.Token {
		t.Fatalf("grabbed is now %+v, want still z's grant %d", l, grab.Token)
	}
	waitFor(t, "a ready again", a.Ready)
	// kept stays a's across further renewals.
	l, _ := holder(t, other, "kept")
	waitFor(t, "two more renewals", func() bool {
		cur, ok := holder(t, other, "kept")
		if !ok || cur.Token != l.Token {
			t.Fatalf("kept changed hands after the restart: %+v (held %v), want token %d", cur, ok, l.Token)
		}
		return cur.Expires.After(l.Expires.Add(2 * a.Tick()))
	})
	select {
	case room := <-a.lost:
		t.Fatalf("OnLost(%q) called for a room nobody else took", room)
	default:
	}
}

// compact shortens a run of answers ("b b b retry") to "b×3 retry×1".
func compact(answers []string) string {
	out := ""
	for i := 0; i < len(answers); {
		j := i
		for j < len(answers) && answers[j] == answers[i] {
			j++
		}
		out += fmt.Sprintf("%s×%d ", answers[i], j-i)
		i = j
	}
	return out
}

// TestConcurrentPlacement: nodes routing the same new room at the same
// moment agree on one owner (the lease decides), so a room is never
// mixed on two nodes.
func TestConcurrentPlacement(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	a, b, c := trio(t, srv.URL, nodeOpts{ttl: time.Minute, grace: time.Minute}, [3]int64{0, 0, 0})
	nodes := []*node{a, b, c}
	for i := range 20 {
		room := fmt.Sprintf("race-%d", i)
		answers := make(chan string, 9)
		var wg sync.WaitGroup
		for k := range 9 {
			n := nodes[k%3]
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				r := n.Route(ctx, room)
				switch {
				case r.Here:
					answers <- n.id
				case r.Owner.ID != "":
					answers <- r.Owner.ID
				default:
					answers <- fmt.Sprintf("refused (%s)", r.Why)
				}
			}()
		}
		wg.Wait()
		close(answers)
		l, ok := holder(t, a.store, room)
		if !ok {
			t.Fatalf("%s: no lease after nine Routes", room)
		}
		for got := range answers {
			if got != l.Holder {
				t.Fatalf("%s: a Route named %s while the lease is held by %s", room, got, l.Holder)
			}
		}
		owners := 0
		for _, n := range nodes {
			if n.Owns(room) {
				owners++
			}
		}
		if owners > 1 {
			t.Fatalf("%s owned by %d nodes at once", room, owners)
		}
	}
}

// TestLiveOwnerKeepsCalls: an owner that renews on time is never taken for
// a dead one: for two TTLs every other node keeps sending its callers
// there (a missed-renewal check must not fire between two renewals).
func TestLiveOwnerKeepsCalls(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	// Half a tick (500 ms) of slack before a late renewal counts as missed:
	// generous for a loaded machine.
	const ttl = 3 * time.Second
	a, b, c := trio(t, srv.URL, nodeOpts{ttl: ttl, grace: time.Minute}, [3]int64{1, 0, 1})
	if r := a.route(t, "standup"); r.Owner.ID != "b" {
		t.Fatalf("a.Route = %+v, want a redirect to b", r)
	}
	if r := b.route(t, "standup"); !r.Here {
		t.Fatalf("b.Route = %+v, want Here", r)
	}
	b.setBusy("standup", true)
	for start := time.Now(); time.Since(start) < 2*ttl; time.Sleep(20 * time.Millisecond) {
		for _, n := range []*node{a, c} {
			if r := n.route(t, "standup"); r.Owner.ID != "b" {
				l, _ := holder(t, n.store, "standup")
				t.Fatalf("%s.Route for live b's room after %v = %+v (lease %+v), want a redirect to b",
					n.id, time.Since(start).Round(time.Millisecond), r, l)
			}
		}
	}
}
