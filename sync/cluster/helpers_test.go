package cluster_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/redis"
	"cusax.dev/bridge/sync/cluster"
)

// TestMain silences go-redis's process-wide logger: the outage tests make
// it complain about every failed dial.
func TestMain(m *testing.M) {
	goredis.SetLogger(redis.GoRedisLogger{L: slog.New(slog.NewTextHandler(io.Discard, nil))})
	os.Exit(m.Run())
}

// openRedis opens one connection pool to the server at url, as each node
// of a real deployment has its own.
func openRedis(t *testing.T, url string) *redis.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redis.Open(ctx, redis.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// node is one Cluster under test with the callbacks a bridge would give
// it: InUse answers from a set of busy rooms, Calls from a counter, and
// OnLost reports on a channel.
type node struct {
	*cluster.Cluster
	id, uri string
	store   cluster.Store
	calls   atomic.Int64
	lost    chan string

	mu   sync.Mutex
	busy map[string]bool

	cancel  context.CancelFunc
	stopped chan struct{}
}

type nodeOpts struct {
	ttl, grace time.Duration
	calls      int64 // initial load reported to the registry
}

// startNode makes a Cluster named id on st and runs its Serve until the
// test ends (or crash).
func startNode(t *testing.T, st cluster.Store, id string, o nodeOpts) *node {
	t.Helper()
	n := &node{id: id, uri: "sip:" + id + "@127.0.0.1:5060", store: st, lost: make(chan string, 100), busy: map[string]bool{}}
	n.calls.Store(o.calls)
	c, err := cluster.New(cluster.Config{
		Store: st, NodeID: id, SIPURI: n.uri,
		LeaseTTL: o.ttl, IdleGrace: o.grace,
		Calls:  func() int { return int(n.calls.Load()) },
		InUse:  n.inUse,
		OnLost: func(room string) { n.lost <- room },
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Cluster = c
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.stopped = cancel, make(chan struct{})
	go func() {
		defer close(n.stopped)
		if err := c.Serve(ctx); err != nil {
			t.Errorf("Serve of %s: %v", id, err)
		}
	}()
	t.Cleanup(n.crash)
	return n
}

func (n *node) inUse(room string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.busy[room]
}

// setBusy marks room as having calls on this node (or none).
func (n *node) setBusy(room string, busy bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.busy[room] = busy
}

// crash stops Serve without Shutdown, as a killed process would: no
// renewals, no heartbeats, nothing released.
func (n *node) crash() {
	n.cancel()
	<-n.stopped
}

// route asks n where room's calls go, with a deadline so a stuck store
// fails the test instead of hanging it.
func (n *node) route(t *testing.T, room string) cluster.Route {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return n.Route(ctx, room)
}

// holder returns the current grant of room's lease, ok false when nobody
// holds it.
func holder(t *testing.T, st cluster.Store, room string) (store.Lease, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := st.LeaseHolder(ctx, store.RoomLeaseName(room))
	if err != nil {
		return store.Lease{}, false
	}
	return l, true
}

// waitFor polls cond every 10 ms until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after 15 s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRegistered waits until every node appears in st's registry, so
// placement sees them all.
func waitRegistered(t *testing.T, st cluster.Store, ids ...string) {
	t.Helper()
	waitFor(t, "nodes in the registry", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		nodes, err := st.ListNodes(ctx)
		if err != nil {
			return false
		}
		found := 0
		for _, n := range nodes {
			for _, id := range ids {
				if n.ID == id {
					found++
				}
			}
		}
		return found == len(ids)
	})
}

// gatedStore is a real store whose batch renewals wait while the test holds
// the gate, so a test can act on the store between a restart and the
// owner's next renewal without racing it.
type gatedStore struct {
	cluster.Store
	gate sync.RWMutex
}

func (g *gatedStore) RenewLeases(ctx context.Context, ls []store.Lease, ttl time.Duration) ([]store.Lease, []error, error) {
	g.gate.RLock()
	defer g.gate.RUnlock()
	return g.Store.RenewLeases(ctx, ls, ttl)
}

// heldHeartbeats is a real store that can hold back one heartbeat of a
// node that is not draining, the way a slow write is overtaken, to show
// what the registry ends up with when writes cross.
type heldHeartbeats struct {
	cluster.Store
	mu      sync.Mutex
	arm     bool          // hold the next non-draining heartbeat
	held    chan struct{} // closed once one is held
	release chan struct{} // closed to let it through
	written chan struct{} // closed once it is written
}

func newHeldHeartbeats(st cluster.Store) *heldHeartbeats {
	return &heldHeartbeats{Store: st, held: make(chan struct{}), release: make(chan struct{}), written: make(chan struct{})}
}

func (h *heldHeartbeats) Heartbeat(ctx context.Context, n store.Node, ttl time.Duration) error {
	h.mu.Lock()
	hold := h.arm && !n.Draining
	if hold {
		h.arm = false
	}
	h.mu.Unlock()
	if !hold {
		return h.Store.Heartbeat(ctx, n, ttl)
	}
	close(h.held)
	<-h.release
	defer close(h.written)
	return h.Store.Heartbeat(ctx, n, ttl)
}
