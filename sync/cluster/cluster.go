package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/store"
)

// Store is what ownership needs from the shared store.
type Store interface {
	store.Leases
	store.LeaseBatch
	store.Nodes
}

// Config is everything a Cluster needs; cmd/bridge fills it.
type Config struct {
	// Store holds the leases and the node registry. Required.
	Store Store
	// NodeID names this node among all (--node-id). Required.
	NodeID string
	// SIPURI is where phones reach this node's SIP listener, for example
	// "sip:10.0.0.7:5060": other nodes redirect calls for rooms owned here
	// to it. Required.
	SIPURI string
	// SIPSURI is where callers who came over TLS reach this node, for
	// example "sips:10.0.0.7:5061"; empty when it has no TLS listener.
	SIPSURI string
	// WebURL is this node's public web server for browser join, where
	// browsers joining a room it owns are sent; empty without.
	WebURL string
	// LeaseTTL is how long a room stays owned by a node that stopped
	// renewing (crashed): the time before its rooms can be placed again.
	// Zero means 5 s. Leases are renewed, and the registry refreshed, every
	// third of it.
	LeaseTTL time.Duration
	// IdleGrace is how long a room this node owns may stay unused before
	// its lease is released, so a caller redialling at once finds it here.
	// Zero means 10 s.
	IdleGrace time.Duration
	// Calls counts the call legs this node carries: the load placement
	// compares. Nil counts none.
	Calls func() int
	// InUse says whether this node still needs room (it has calls in it);
	// nil means never, so an owned room is released after IdleGrace.
	InUse func(room string) bool
	// OnLost is told, off the caller's goroutine, that another node took
	// room over (this node's lease lapsed while it could not renew): this
	// node must stop mixing it and hang its calls up, so that callers
	// redial and meet the room where it now lives.
	OnLost func(room string)
	// Logger receives the cluster's logs; nil discards.
	Logger *slog.Logger
	// Metrics receives the bridge_cluster_* metrics; nil uses a private registry.
	Metrics prometheus.Registerer
}

// Route says where the calls of a room go.
type Route struct {
	// Here is true when this node owns the room: admit the call.
	Here bool
	// Owner is the node to send the caller to when the room lives
	// elsewhere (Here false, RetryAfter zero).
	Owner store.Node
	// RetryAfter, when not zero, says nobody can take the room right now
	// (the store is unreachable, or its owner died and the lease has not
	// lapsed yet): refuse with 503 and this Retry-After.
	RetryAfter time.Duration
	// Why explains a refusal, for the reason phrase and the logs.
	Why string
}

// Cluster is one node's share of room ownership. Make one with New, run
// Serve, ask Route for each new call and call Shutdown on a planned stop.
type Cluster struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	// hbMu orders registry writes: a heartbeat computes this node's entry
	// and writes it under it, so an older entry never lands after a newer
	// one (Drain's, or Shutdown's removal).
	hbMu sync.Mutex

	mu       sync.Mutex
	stopped  bool                   // Shutdown was called
	owned    map[string]store.Lease // by room
	idle     map[string]time.Time   // owned rooms unused since
	placed   map[string][]time.Time // rooms this node recently placed on each node
	draining bool
	storeOK  bool
	nodes    []store.Node // the registry as last read
	nodesAt  time.Time
	// recovered wakes Serve to renew at once when the store is back, so a
	// lease the store lost is taken again before anyone else places the
	// room.
	recovered chan struct{}
}

// ErrConfig wraps every configuration error of New.
var ErrConfig = errors.New("cluster: bad configuration")

// New checks cfg and builds a Cluster; nothing happens until Serve.
func New(cfg Config) (*Cluster, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: Store is required", ErrConfig)
	case cfg.NodeID == "":
		return nil, fmt.Errorf("%w: NodeID is required", ErrConfig)
	case cfg.SIPURI == "":
		return nil, fmt.Errorf("%w: SIPURI of node %q is required", ErrConfig, cfg.NodeID)
	case cfg.LeaseTTL < 0 || (cfg.LeaseTTL > 0 && cfg.LeaseTTL < 30*time.Millisecond):
		return nil, fmt.Errorf("%w: LeaseTTL must be at least 30ms, got %v", ErrConfig, cfg.LeaseTTL)
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 5 * time.Second
	}
	if cfg.IdleGrace <= 0 {
		cfg.IdleGrace = 10 * time.Second
	}
	if cfg.Calls == nil {
		cfg.Calls = func() int { return 0 }
	}
	if cfg.InUse == nil {
		cfg.InUse = func(string) bool { return false }
	}
	if cfg.OnLost == nil {
		cfg.OnLost = func(string) {}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reg := cfg.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	c := &Cluster{
		cfg: cfg, log: log,
		owned: map[string]store.Lease{}, idle: map[string]time.Time{}, placed: map[string][]time.Time{},
		storeOK: true, recovered: make(chan struct{}, 1),
	}
	m, err := newMetrics(reg, c)
	if err != nil {
		return nil, err
	}
	c.m = m
	return c, nil
}

// NodeID is this node's name.
func (c *Cluster) NodeID() string { return c.cfg.NodeID }

// Tick is how often leases are renewed and the registry refreshed.
func (c *Cluster) Tick() time.Duration { return c.cfg.LeaseTTL / 3 }

// Owns reports whether this node owns room now.
func (c *Cluster) Owns(room string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.owned[room]
	return ok
}

// Owned lists the rooms this node owns.
func (c *Cluster) Owned() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.owned))
	for r := range c.owned {
		out = append(out, r)
	}
	return out
}

// Drain stops new rooms being placed here (it is reported with the next
// heartbeat, which Drain sends at once); rooms owned here stay here until
// their calls end.
func (c *Cluster) Drain(ctx context.Context) error {
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	c.log.Info("draining: no new rooms will be placed on this node")
	return c.heartbeat(ctx)
}

func (c *Cluster) stopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// Draining reports whether Drain was called.
func (c *Cluster) Draining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// Ready reports whether the last exchange with the store succeeded.
func (c *Cluster) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.storeOK
}

// storeRetry is the Retry-After of a call refused because the store is
// unreachable: about the time a reconnect takes.
const storeRetry = 5 * time.Second

// Route says where a new call for room goes, placing the room if nobody
// owns it. It never blocks longer than ctx allows.
func (c *Cluster) Route(ctx context.Context, room string) Route {
	if c.stopping() {
		return c.unavailable(room, time.Second, "node stopping")
	}
	if c.touch(room) {
		return Route{Here: true}
	}
	name := store.RoomLeaseName(room)
	for attempt := 0; attempt < 3; attempt++ {
		l, err := c.cfg.Store.LeaseHolder(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			r, retry := c.place(ctx, room)
			if retry {
				continue // someone placed it first: route to them
			}
			return r
		case err != nil:
			c.storeFailed(err)
			return c.unavailable(room, storeRetry, "room directory unreachable")
		case l.Holder == c.cfg.NodeID:
			// Placed here by another node: renew at once, so the grant
			// never looks like an owner that missed its renewals.
			if renewed, err := c.cfg.Store.RenewLease(ctx, l, c.cfg.LeaseTTL); err == nil {
				l = renewed
			} else if errors.Is(err, store.ErrLeaseLost) {
				continue // it lapsed or moved meanwhile: look again
			}
			c.adopt(room, l)
			return Route{Here: true}
		}
		if left := time.Until(l.Expires); !l.Expires.IsZero() && left < c.cfg.LeaseTTL-3*c.Tick()/2 {
			// The owner renews every tick; one that missed a renewal
			// is dead or cut off, and phones sent to it would hang.
			return c.unavailable(room, max(left, time.Second), "room owner stopped renewing")
		}
		owner, ok := c.node(ctx, l.Holder)
		if !ok || owner.SIPURI == "" {
			// The owner stopped reporting: it is dead or cut off, and the
			// room is free again once its lease lapses.
			wait := time.Until(l.Expires)
			return c.unavailable(room, max(wait, time.Second), "room owner unreachable")
		}
		c.m.redirects.Inc()
		return Route{Owner: owner}
	}
	return c.unavailable(room, time.Second, "room placement contended")
}

func (c *Cluster) unavailable(room string, after time.Duration, why string) Route {
	c.m.refused.WithLabelValues(why).Inc()
	c.log.Info("room unavailable", "room", room, "why", why, "retry_after", after)
	return Route{RetryAfter: after, Why: why}
}

// place chooses the least loaded node for an unowned room and takes the
// lease in its name. retry is true when another node placed the room at
// the same moment.
func (c *Cluster) place(ctx context.Context, room string) (r Route, retry bool) {
	nodes, err := c.liveNodes(ctx, true)
	if err != nil {
		c.storeFailed(err)
		return c.unavailable(room, storeRetry, "node registry unreachable"), false
	}
	reachable := nodes[:0:0]
	for _, n := range nodes {
		if n.SIPURI != "" { // a node phones cannot be sent to takes no rooms
			reachable = append(reachable, n)
		}
	}
	best, ok := Place(room, c.adjusted(reachable))
	if !ok {
		return c.unavailable(room, 30*time.Second, "no node takes new rooms"), false
	}
	l, err := c.cfg.Store.AcquireLease(ctx, store.RoomLeaseName(room), best.ID, c.cfg.LeaseTTL)
	switch {
	case errors.Is(err, store.ErrLeaseHeld):
		return Route{}, true
	case err != nil:
		c.storeFailed(err)
		return c.unavailable(room, storeRetry, "room directory unreachable"), false
	}
	c.storeSucceeded()
	c.m.placed.WithLabelValues(placedWhere(best.ID == c.cfg.NodeID)).Inc()
	c.log.Info("room placed", "room", room, "node", best.ID, "load", best.Load, "rooms", best.Rooms)
	if best.ID == c.cfg.NodeID {
		c.adopt(room, l)
		return Route{Here: true}, false
	}
	c.mu.Lock()
	c.placed[best.ID] = append(c.placed[best.ID], time.Now())
	c.mu.Unlock()
	c.m.redirects.Inc()
	return Route{Owner: best}, false
}

func placedWhere(here bool) string {
	if here {
		return "here"
	}
	return "elsewhere"
}

// adopt records a grant held in this node's name: one it took itself, or
// one another node took for it when it placed the room here.
func (c *Cluster) adopt(room string, l store.Lease) {
	c.mu.Lock()
	_, had := c.owned[room]
	c.owned[room] = l
	c.idle[room] = time.Now()
	c.mu.Unlock()
	if !had {
		c.log.Info("room owned here", "room", room, "token", l.Token)
	}
}

// touch marks an owned room as just used, in the same step as checking it
// is owned, so the idle sweep cannot release it between the two; it
// reports whether the room is owned here.
func (c *Cluster) touch(room string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.owned[room]; !ok {
		return false
	}
	c.idle[room] = time.Now()
	return true
}

// adjusted counts the rooms this node placed on others since their last
// heartbeat, so a burst of new rooms spreads instead of piling onto the
// node that looked least loaded at the start of it.
func (c *Cluster) adjusted(nodes []store.Node) []store.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]store.Node, len(nodes))
	for i, n := range nodes {
		recent := c.placed[n.ID]
		k := 0
		for _, at := range recent {
			if at.After(n.Updated) {
				recent[k] = at
				k++
			}
		}
		c.placed[n.ID] = recent[:k]
		n.Rooms += k
		n.Load += k
		out[i] = n
	}
	return out
}

// node finds a live node by ID, from the registry read at most a tick ago.
func (c *Cluster) node(ctx context.Context, id string) (store.Node, bool) {
	nodes, err := c.liveNodes(ctx, false)
	if err != nil {
		c.storeFailed(err)
		return store.Node{}, false
	}
	for _, n := range nodes {
		if n.ID == id {
			return n, true
		}
	}
	if fresh, err := c.liveNodes(ctx, true); err == nil {
		for _, n := range fresh {
			if n.ID == id {
				return n, true
			}
		}
	}
	return store.Node{}, false
}

// liveNodes reads the registry, or returns the copy read less than a tick
// ago unless fresh is set. This node is always in it as it is now (its own
// heartbeat may not have been written yet).
func (c *Cluster) liveNodes(ctx context.Context, fresh bool) ([]store.Node, error) {
	c.mu.Lock()
	if !fresh && time.Since(c.nodesAt) < c.Tick() {
		nodes := c.nodes
		c.mu.Unlock()
		return nodes, nil
	}
	c.mu.Unlock()
	nodes, err := c.cfg.Store.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	self := c.self()
	found := false
	for i, n := range nodes {
		if n.ID == self.ID {
			nodes[i], found = self, true
		}
	}
	if !found {
		nodes = append(nodes, self)
	}
	c.mu.Lock()
	c.nodes, c.nodesAt = nodes, time.Now()
	c.mu.Unlock()
	return nodes, nil
}

// self is this node's registry entry as of now.
func (c *Cluster) self() store.Node {
	calls := c.cfg.Calls()
	c.mu.Lock()
	defer c.mu.Unlock()
	return store.Node{
		ID: c.cfg.NodeID, SIPURI: c.cfg.SIPURI, SIPSURI: c.cfg.SIPSURI, WebURL: c.cfg.WebURL,
		Rooms: len(c.owned), Calls: calls, Load: calls,
		Draining: c.draining, Updated: time.Now(),
	}
}

func (c *Cluster) storeFailed(err error) {
	c.mu.Lock()
	was := c.storeOK
	c.storeOK = false
	c.mu.Unlock()
	c.m.storeErrors.Inc()
	if was {
		c.log.Warn("the store is unreachable: keeping the rooms owned here, refusing new ones until it is back", "err", err)
	}
}

func (c *Cluster) storeSucceeded() {
	c.mu.Lock()
	was := c.storeOK
	c.storeOK = true
	c.mu.Unlock()
	if !was {
		c.log.Info("the store is reachable again")
		select {
		case c.recovered <- struct{}{}:
		default:
		}
	}
}

// IsNode reports whether addr is the SIP address of a live node in the
// registry, so a call another node forwarded (proxy mode) can be told from
// a phone claiming to be one. It reads the registry at most once a tick
// (a phone forging the header must not make every INVITE cost a store
// read); a node that joined since is recognised from the next tick.
// Nodes advertising a host name instead of an IP are not recognised.
func (c *Cluster) IsNode(ctx context.Context, addr netip.Addr) bool {
	nodes, err := c.liveNodes(ctx, false)
	if err != nil {
		return false
	}
	for _, n := range nodes {
		if nodeAddr(n.SIPURI) == addr.Unmap() {
			return true
		}
	}
	return false
}

// nodeAddr is the IP of a "sip:host:port" URI, or the zero Addr.
func nodeAddr(uri string) netip.Addr {
	hostport, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(uri, "sips:"), "sip:"), ";")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		hostport = hostport[at+1:]
	}
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(strings.Trim(hostport, "[]"))
	return a.Unmap()
}
