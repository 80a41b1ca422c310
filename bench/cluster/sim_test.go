// Package cluster_test simulates room ownership at scale (issue 8): 20
// bridge nodes, each with its own connection to one real redis-server, and
// 10,000 rooms with one simulated call each. It measures what Redis pays
// per room in steady state, how evenly placement spreads the rooms, how
// fast they are placed, and how long the rooms of a crashed node take to
// find a new owner.
//
// Run it alone (about 40 s; -benchtime 1x is optional, it never repeats):
//
//	go test -run '^$' -bench Simulation -benchtime 1x ./bench/cluster/
package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/store/redis"
	"cusax.dev/bridge/sync/cluster"
)

const (
	simNodes  = 20
	simRooms  = 10000
	simTTL    = 5 * time.Second  // the default LeaseTTL, set explicitly
	steady    = 30 * time.Second // the window Redis commands are counted over
	redial    = 250 * time.Millisecond
	callers   = 64 // concurrent dialers during the initial placement
	routeWait = 5 * time.Second
)

// simNode is one bridge node: its Cluster and the calls it carries.
type simNode struct {
	id string
	c  *cluster.Cluster
	st *redis.Store

	mu    sync.Mutex
	calls map[string]bool // rooms with a call here
	dead  atomic.Bool     // crashed: redirected callers get no answer
	lost  atomic.Int64

	cancel  context.CancelFunc
	stopped chan struct{}
}

func (n *simNode) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.calls)
}

func (n *simNode) inUse(room string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[room]
}

func (n *simNode) admit(room string) {
	n.mu.Lock()
	n.calls[room] = true
	n.mu.Unlock()
}

func (n *simNode) hangUp(room string) {
	n.mu.Lock()
	delete(n.calls, room)
	n.mu.Unlock()
}

type sim struct {
	nodes []*simNode
	byID  map[string]*simNode
}

// dial places one call for room through entry, following a redirect once
// as a phone follows a 302. It returns the node now carrying the call, or
// nil and the answer that stopped it.
func (s *sim) dial(entry *simNode, room string) (*simNode, string) {
	ctx, cancel := context.WithTimeout(context.Background(), routeWait)
	defer cancel()
	r := entry.c.Route(ctx, room)
	switch {
	case r.Here:
		entry.admit(room)
		return entry, "here"
	case r.RetryAfter > 0:
		return nil, "retry-after"
	}
	owner := s.byID[r.Owner.ID]
	if owner == nil {
		return nil, "unknown owner " + r.Owner.ID
	}
	if owner.dead.Load() {
		return nil, "sent to the dead node"
	}
	r = owner.c.Route(ctx, room)
	if !r.Here {
		return nil, fmt.Sprintf("redirect target answered %+v", r)
	}
	owner.admit(room)
	return owner, "redirected"
}

func BenchmarkSimulation(b *testing.B) {
	testpeer.Integration(b)
	srv := testpeer.StartRedisServer(b)
	goredis.SetLogger(redis.GoRedisLogger{L: slog.New(slog.NewTextHandler(io.Discard, nil))})
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	b.Cleanup(func() { admin.Close() })

	s := &sim{byID: map[string]*simNode{}}
	for i := range simNodes {
		s.nodes = append(s.nodes, startSimNode(b, srv.URL, fmt.Sprintf("node-%02d", i)))
	}
	for _, n := range s.nodes {
		s.byID[n.id] = n
	}
	waitNodes(b, s.nodes[0].st, simNodes)

	rooms := make([]string, simRooms)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("room-%05d", i)
	}

	// 1. Initial placement: every room gets a call through a random node.
	// The timer runs through the whole scenario (over 30 s), so the
	// framework never repeats it whatever -benchtime says; the figures are
	// the reported metrics, not ns/op.
	b.ResetTimer()
	start := time.Now()
	var redirected, here atomic.Int64
	work := make(chan string)
	var wg sync.WaitGroup
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for room := range work {
				for {
					n, how := s.dial(s.nodes[rnd.IntN(simNodes)], room)
					if n != nil {
						if how == "here" {
							here.Add(1)
						} else {
							redirected.Add(1)
						}
						break
					}
					b.Logf("placing %s: %s; redialling", room, how)
					time.Sleep(redial)
				}
			}
		}()
	}
	for _, room := range rooms {
		work <- room
	}
	close(work)
	wg.Wait()
	placeTook := time.Since(start)
	lo, hi := spread(s.nodes)
	b.Logf("placed %d rooms in %v (%.0f rooms/s): %d admitted at the first node, %d after a redirect; rooms per node min %d max %d",
		simRooms, placeTook.Round(time.Millisecond), simRooms/placeTook.Seconds(), here.Load(), redirected.Load(), lo, hi)
	b.ReportMetric(simRooms/placeTook.Seconds(), "rooms/s")
	b.ReportMetric(float64(lo), "min-rooms/node")
	b.ReportMetric(float64(hi), "max-rooms/node")

	// 2. Steady state: calls stay up; count what Redis executes.
	time.Sleep(2 * simTTL / 3) // a heartbeat round with the final loads
	before := commandStats(b, admin)
	time.Sleep(steady)
	after := commandStats(b, admin)
	minutes := steady.Minutes()
	perRoomMin := func(d float64) float64 { return d / simRooms / minutes }
	total := after["total_commands_processed"] - before["total_commands_processed"]
	b.ReportMetric(perRoomMin(total), "redis-cmds/room/min")
	// In steady state every request the nodes send is a script (batched
	// renewals, heartbeats): these are the requests Redis parses.
	scripts := after["cmdstat_eval"] + after["cmdstat_evalsha"] - before["cmdstat_eval"] - before["cmdstat_evalsha"]
	b.ReportMetric(perRoomMin(scripts), "redis-scripts/room/min")
	b.ReportMetric(perRoomMin(after["total_net_input_bytes"]-before["total_net_input_bytes"]), "redis-in-bytes/room/min")
	cpu := after["used_cpu_user"] + after["used_cpu_sys"] - before["used_cpu_user"] - before["used_cpu_sys"]
	b.ReportMetric(100*cpu/steady.Seconds(), "redis-cpu-%")
	var lines []string
	for k, v := range after {
		if !strings.HasPrefix(k, "cmdstat_") {
			continue
		}
		if d := v - before[k]; d > 0 {
			lines = append(lines, fmt.Sprintf("%s %.0f (%.2f/room/min)", strings.TrimPrefix(k, "cmdstat_"), d, perRoomMin(d)))
		}
	}
	sort.Strings(lines)
	b.Logf("steady %v, LeaseTTL %v: %.0f commands processed = %.2f per room per minute; by command (script-internal calls included): %s",
		steady, simTTL, total, perRoomMin(total), strings.Join(lines, ", "))
	for _, n := range s.nodes {
		if l := n.lost.Load(); l > 0 {
			b.Errorf("%s lost %d rooms in steady state", n.id, l)
		}
	}

	// 3. Node loss: one node dies without Shutdown; its callers redial
	// through random live nodes every 250 ms until some node says Here.
	victim := s.nodes[7]
	orphans := victim.c.Owned()
	owned := map[string]int{}
	for _, n := range s.nodes {
		owned[n.id] = len(n.c.Owned())
	}
	victim.dead.Store(true)
	victim.cancel()
	<-victim.stopped
	crashed := time.Now()
	live := slices.DeleteFunc(slices.Clone(s.nodes), func(n *simNode) bool { return n == victim })
	took := make([]time.Duration, len(orphans))
	var answers sync.Map // how → *atomic.Int64
	for i, room := range orphans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), 2))
			for {
				n, how := s.dial(live[rnd.IntN(len(live))], room)
				c, _ := answers.LoadOrStore(how, new(atomic.Int64))
				c.(*atomic.Int64).Add(1)
				if n != nil {
					took[i] = time.Since(crashed)
					return
				}
				time.Sleep(redial)
			}
		}()
	}
	wg.Wait()
	slices.Sort(took)
	all, p50 := took[len(took)-1], took[len(took)/2]
	var seen []string
	answers.Range(func(k, v any) bool {
		seen = append(seen, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(seen)
	count := func(how string) float64 {
		if c, ok := answers.Load(how); ok {
			return float64(c.(*atomic.Int64).Load())
		}
		return 0
	}
	// Redials sent to the dead node would, with a real phone, wait for an
	// INVITE timeout instead of the 250 ms modelled here.
	b.ReportMetric(count("sent to the dead node"), "redials-to-dead-node")
	b.ReportMetric(count("retry-after"), "redials-503")
	b.Logf("node loss: %d rooms of %s owned again after %v (p50 %v, first %v; LeaseTTL %v); answers to the redials: %s",
		len(orphans), victim.id, all.Round(time.Millisecond), p50.Round(time.Millisecond), took[0].Round(time.Millisecond), simTTL, strings.Join(seen, ", "))
	b.ReportMetric(all.Seconds(), "replace-all-s")
	b.ReportMetric(p50.Seconds(), "replace-p50-s")
	b.ReportMetric(all.Seconds()/simTTL.Seconds(), "replace-all/ttl")
	b.ReportMetric(float64(len(orphans)), "orphaned-rooms")
	lo, hi = spread(live)
	var gains []string
	for _, n := range live {
		gains = append(gains, fmt.Sprintf("%s %d+%d", n.id, owned[n.id], len(n.c.Owned())-owned[n.id]))
	}
	b.Logf("after the loss: rooms per live node min %d max %d (before+taken over: %s)", lo, hi, strings.Join(gains, ", "))
	b.ReportMetric(float64(hi), "max-rooms/node-after-loss")
}

func startSimNode(b *testing.B, url, id string) *simNode {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := redis.Open(ctx, redis.Config{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	n := &simNode{id: id, st: st, calls: map[string]bool{}, stopped: make(chan struct{})}
	n.c, err = cluster.New(cluster.Config{
		Store: st, NodeID: id, SIPURI: "sip:" + id + "@127.0.0.1:5060",
		LeaseTTL: simTTL,
		Calls:    n.count,
		InUse:    n.inUse,
		OnLost: func(room string) {
			n.lost.Add(1)
			n.hangUp(room)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	n.cancel = stop
	go func() {
		defer close(n.stopped)
		if err := n.c.Serve(sctx); err != nil {
			b.Errorf("Serve of %s: %v", id, err)
		}
	}()
	b.Cleanup(func() {
		stop()
		<-n.stopped
	})
	return n
}

// waitNodes waits until want nodes are in the registry.
func waitNodes(b *testing.B, st *redis.Store, want int) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		nodes, err := st.ListNodes(context.Background())
		if err == nil && len(nodes) == want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("registry has %d nodes after 20 s (%v), want %d", len(nodes), err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spread returns the fewest and most rooms any node owns.
func spread(nodes []*simNode) (lo, hi int) {
	lo = simRooms
	for _, n := range nodes {
		k := len(n.c.Owned())
		lo, hi = min(lo, k), max(hi, k)
	}
	return lo, hi
}

// commandStats reads INFO stats, cpu and commandstats: counters by name
// and cmdstat_<command> call counts.
func commandStats(b *testing.B, c *goredis.Client) map[string]float64 {
	info, err := c.Info(context.Background(), "stats", "cpu", "commandstats").Result()
	if err != nil {
		b.Fatalf("INFO: %v", err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		if strings.HasPrefix(k, "cmdstat_") {
			// calls=N,usec=…
			f, _, _ := strings.Cut(v, ",")
			v = strings.TrimPrefix(f, "calls=")
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = n
		}
	}
	return out
}
