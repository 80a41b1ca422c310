package muc_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
)

// fanoutRounds is how many times each side of BenchmarkFanout is measured.
// The shared machine's speed drifts by up to a factor of two within a
// minute, so one run of each side compares two different machines; rounds
// alternate the sides and the benchmark reports medians, and the median of
// each round's ratio, whose two runs were seconds apart.
const fanoutRounds = 7

// fanoutWarmup messages go to a room, untimed, before each timed run, so
// that a run does not start paying for the garbage the run before it left
// in Prosody (its collector is incremental: a cycle's work is done during
// the allocations that follow).
const fanoutWarmup = 50

// BenchmarkFanout measures groupchat fan-out through Prosody: one occupant
// sends b.N messages to a room of n occupants and the benchmark waits until
// all n×b.N copies have arrived. The same clients sit in three rooms on
// one server: one on the bridge's component (multicast through
// deploy/k8s/base/prosody-modules/mod_cusax_multicast.lua, the default),
// one on Prosody's own MUC (Component "muc" "muc"), and one on a bridge
// component with multicast off (Config.NoMulticast, every copy its own
// stanza). It reports, for each side, messages delivered per second and
// Prosody's processor time per delivered copy (Prosody is single-threaded,
// so that bounds its rate), and ratio = bridge / Prosody's MUC delivered
// per second. The bridge and Prosody's MUC are measured in fanoutRounds
// alternating rounds (medians reported; -v logs every round); the
// copy-by-copy room once. The bridge's and the server's MUC domains have
// names of the same length, since every copy carries one. Run it with a
// fixed count, e.g.
//
//	go test ./muc -run '^$' -bench BenchmarkFanout -benchtime 300x -v
func BenchmarkFanout(b *testing.B) {
	testpeer.Integration(b)
	testpeer.Need(b, "prosody", "prosodyctl", "openssl")
	const builtin = "server.example.test"
	p := muctest.NewProsody(b, muctest.ProsodyConfig{BuiltinMUC: builtin, Components: []string{"bridge.example.test", "copies.example.test"}})
	noHistory := muc.DefaultRoomConfig()
	noHistory.HistoryLength = 0
	muctest.StartService(b, p, p.Components[0], muc.Config{Registerer: prometheus.NewRegistry(), DefaultRoom: &noHistory, Logger: benchLogger(b)})
	muctest.StartService(b, p, p.Components[1], muc.Config{Registerer: prometheus.NewRegistry(), DefaultRoom: &noHistory, Logger: benchLogger(b), NoMulticast: true})

	const maxN = 200
	users := make([]string, maxN)
	for i := range users {
		users[i] = fmt.Sprintf("load%d", i)
	}
	if err := p.RegisterMany(users, "pw"); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	clients := dialLoadClients(ctx, b, p, users)

	for _, n := range []int{50, 200} {
		occupants := clients[:n]
		rooms := map[string]string{}
		for _, side := range []struct{ name, domain string }{{"bridge", p.Components[0]}, {"percopy", p.Components[1]}, {"prosody", builtin}} {
			rooms[side.name] = fmt.Sprintf("fan%d@%s", n, side.domain)
			join(ctx, b, occupants, rooms[side.name])
		}
		b.Run(fmt.Sprintf("occupants=%d", n), func(b *testing.B) {
			b.StopTimer()
			var bridge, prosody []fanoutRun
			var ratios []float64
			for round := range fanoutRounds {
				var br, pr fanoutRun
				// Alternate which side goes first, so neither always
				// follows the other.
				if round%2 == 0 {
					br = measureFanout(ctx, b, p, occupants, rooms["bridge"])
					pr = measureFanout(ctx, b, p, occupants, rooms["prosody"])
				} else {
					pr = measureFanout(ctx, b, p, occupants, rooms["prosody"])
					br = measureFanout(ctx, b, p, occupants, rooms["bridge"])
				}
				b.Logf("round %d: bridge %.0f delivered/s (Prosody %.1f µs/copy), Prosody's MUC %.0f delivered/s (%.1f µs/copy), ratio %.2f",
					round, br.deliveredPerSec, br.prosodyCPU, pr.deliveredPerSec, pr.prosodyCPU, br.deliveredPerSec/pr.deliveredPerSec)
				bridge, prosody = append(bridge, br), append(prosody, pr)
				ratios = append(ratios, br.deliveredPerSec/pr.deliveredPerSec)
			}
			percopy := measureFanout(ctx, b, p, occupants, rooms["percopy"])
			b.ReportMetric(median(ratios), "ratio")
			reportFanout(b, "bridge", bridge)
			reportFanout(b, "prosody", prosody)
			reportFanout(b, "percopy", []fanoutRun{percopy})
		})
		for _, room := range rooms {
			for i, c := range occupants {
				c.Send(ctx, fmt.Sprintf(`<presence to='%s/u%d' type='unavailable'/>`, room, i))
			}
		}
	}
}

// dialLoadClients logs every user in, 16 at a time.
func dialLoadClients(ctx context.Context, b *testing.B, p *muctest.Prosody, users []string) []*muctest.LoadClient {
	clients := make([]*muctest.LoadClient, len(users))
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	sem := make(chan struct{}, 16)
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := muctest.DialLoadClient(ctx, p, u, "pw")
			if err != nil {
				errs <- err
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	b.Cleanup(func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	})
	for err := range errs {
		b.Fatal(err)
	}
	return clients
}

// join enters every client into room (no history) and waits for each one's
// self-presence.
func join(ctx context.Context, b *testing.B, clients []*muctest.LoadClient, room string) {
	for i, c := range clients {
		c.SelfPresence.Store(0)
		if err := c.Send(ctx, fmt.Sprintf(`<presence to='%s/u%d'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`, room, i)); err != nil {
			b.Fatal(err)
		}
	}
	waitAll(b, clients, func(c *muctest.LoadClient) bool { return c.SelfPresence.Load() >= 1 }, "self-presence in "+room)
}

// fanoutRun is one timed run of b.N messages to one room.
type fanoutRun struct {
	deliveredPerSec float64
	prosodyCPU      float64 // Prosody's processor µs per delivered copy
	prosodyWrites   float64 // its write system calls per copy: how it batches
}

// measureFanout sends fanoutWarmup messages untimed, then b.N timed, from
// the first client to room, each time waiting until every client has them.
func measureFanout(ctx context.Context, b *testing.B, p *muctest.Prosody, clients []*muctest.LoadClient, room string) fanoutRun {
	sender := clients[0]
	send := func(count int, prefix string) {
		for _, c := range clients {
			c.Groupchat.Store(0)
		}
		for i := range count {
			if err := sender.Send(ctx, fmt.Sprintf(`<message to='%s' type='groupchat' id='%s%d'><body>fan-out message %d</body></message>`, room, prefix, i, i)); err != nil {
				b.Fatal(err)
			}
		}
		want := int64(count)
		waitAll(b, clients, func(c *muctest.LoadClient) bool { return c.Groupchat.Load() >= want }, "messages in "+room)
	}
	send(fanoutWarmup, "w")
	cpu0, err := p.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	_, writes0, err := p.Syscalls()
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	start := time.Now()
	send(b.N, "m")
	elapsed := time.Since(start)
	b.StopTimer()
	cpu1, err := p.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	_, writes1, err := p.Syscalls()
	if err != nil {
		b.Fatal(err)
	}
	copies := float64(len(clients) * b.N)
	return fanoutRun{
		deliveredPerSec: copies / elapsed.Seconds(),
		prosodyCPU:      float64((cpu1 - cpu0).Microseconds()) / copies,
		prosodyWrites:   float64(writes1-writes0) / copies,
	}
}

// reportFanout reports the medians of one side's runs.
func reportFanout(b *testing.B, side string, runs []fanoutRun) {
	var rate, cpu, writes []float64
	for _, r := range runs {
		rate, cpu, writes = append(rate, r.deliveredPerSec), append(cpu, r.prosodyCPU), append(writes, r.prosodyWrites)
	}
	b.ReportMetric(median(rate), side+"-delivered/s")
	b.ReportMetric(median(cpu), side+"-prosody-µs/copy")
	b.ReportMetric(median(writes), side+"-prosody-writes/copy")
}

// median is the middle value (the mean of the two middle ones for an even
// count).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func waitAll(b *testing.B, clients []*muctest.LoadClient, done func(*muctest.LoadClient) bool, what string) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		missing := 0
		for _, c := range clients {
			if !done(c) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d clients still waiting for %s", missing, len(clients), what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// benchLogger shows only warnings (a dropped link would explain a bad figure).
func benchLogger(b *testing.B) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
