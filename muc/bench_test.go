package muc_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
)

// BenchmarkFanout measures groupchat fan-out through Prosody: one occupant
// sends b.N messages to a room of n occupants and the benchmark waits until
// all n×b.N copies have arrived. It runs the bridge's component and
// Prosody's own MUC (Component "muc" "muc") side by side on one server,
// reporting delivered messages per second for each, so their ratio is
// measured under the same load. The bridge runs twice: with multicast
// through the server (deploy/k8s/base/prosody-modules/mod_cusax_multicast.lua, the default)
// and without (Config.NoMulticast, every copy its own stanza). Run it with
// a fixed count, e.g.
//
//	go test ./muc -run '^$' -bench BenchmarkFanout -benchtime 1000x
func BenchmarkFanout(b *testing.B) {
	testpeer.Integration(b)
	testpeer.Need(b, "prosody", "prosodyctl", "openssl")
	const builtin = "muc.example.test"
	p := muctest.NewProsody(b, muctest.ProsodyConfig{BuiltinMUC: builtin, Components: []string{"conference.example.test", "percopy.example.test"}})
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	clients := make([]*muctest.LoadClient, maxN)
	var wg sync.WaitGroup
	errs := make(chan error, maxN)
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
	for err := range errs {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, c := range clients {
			c.Close()
		}
	})

	round := 0
	for _, n := range []int{50, 200} {
		for _, side := range []struct{ name, domain string }{{"bridge", p.Components[0]}, {"bridge-nomulticast", p.Components[1]}, {"prosody", builtin}} {
			b.Run(fmt.Sprintf("%s/occupants=%d", side.name, n), func(b *testing.B) {
				round++
				room := fmt.Sprintf("fan%d@%s", round, side.domain)
				fanout(ctx, b, p, clients[:n], room)
			})
		}
	}
}

func fanout(ctx context.Context, b *testing.B, p *muctest.Prosody, clients []*muctest.LoadClient, room string) {
	for i, c := range clients {
		c.SelfPresence.Store(0)
		if err := c.Send(ctx, fmt.Sprintf(`<presence to='%s/u%d'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`, room, i)); err != nil {
			b.Fatal(err)
		}
	}
	waitAll(b, clients, func(c *muctest.LoadClient) bool { return c.SelfPresence.Load() >= 1 }, "self-presence")
	for _, c := range clients {
		c.Groupchat.Store(0)
	}
	sender := clients[0]
	b.ResetTimer()
	cpu0, err := p.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	self0 := selfCPU()
	reads0, writes0, err := p.Syscalls()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range b.N {
		if err := sender.Send(ctx, fmt.Sprintf(`<message to='%s' type='groupchat' id='m%d'><body>fan-out message %d</body></message>`, room, i, i)); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N)
	waitAll(b, clients, func(c *muctest.LoadClient) bool { return c.Groupchat.Load() >= want }, "all messages")
	elapsed := time.Since(start)
	b.StopTimer()
	cpu1, err := p.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	reads1, writes1, err := p.Syscalls()
	if err != nil {
		b.Fatal(err)
	}
	copies := float64(len(clients) * b.N)
	// How Prosody batches: its write (and read) system calls per copy.
	b.ReportMetric(float64(writes1-writes0)/copies, "prosody-writes/copy")
	b.ReportMetric(float64(reads1-reads0)/copies, "prosody-reads/copy")
	b.ReportMetric(copies/elapsed.Seconds(), "delivered/s")
	// Where the time goes: Prosody's processor time per delivered copy (it
	// is single-threaded, so this bounds its rate), and this process's
	// (the load clients, plus the bridge on the bridge side).
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/copies, "prosody-µs/copy")
	b.ReportMetric(float64((selfCPU()-self0).Microseconds())/copies, "bench-proc-µs/copy")
	for i, c := range clients {
		c.Send(ctx, fmt.Sprintf(`<presence to='%s/u%d' type='unavailable'/>`, room, i))
	}
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

// selfCPU is this process's processor time (user + system) so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLogger shows only warnings (a dropped link would explain a bad figure).
func benchLogger(b *testing.B) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
