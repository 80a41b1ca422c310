package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/redis"
)

func benchStore(b *testing.B) *redis.Store {
	b.Helper()
	testpeer.Integration(b)
	url := testpeer.StartRedis(b)
	s, err := redis.Open(context.Background(), redis.Config{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkLeaseRenew is the steady-state cost of owning a room: one
// compare-and-renew script per renewal, over loopback.
func BenchmarkLeaseRenew(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	l, err := s.AcquireLease(ctx, "room:bench", "n1", 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if l, err = s.RenewLease(ctx, l, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeaseAcquireRelease is the cost of placing a room and giving it up.
func BenchmarkLeaseAcquireRelease(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		l, err := s.AcquireLease(ctx, fmt.Sprintf("room:%d", i%1000), "n1", 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ReleaseLease(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBusPublishDeliver is one event from Publish to an accepting
// handler, one at a time (latency, not throughput).
func BenchmarkBusPublishDeliver(b *testing.B) {
	s := benchStore(b)
	bus := s.Bus(0)
	got := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- bus.Subscribe(ctx, "room:bench", "owner", func(context.Context, store.Event) error {
			got <- struct{}{}
			return nil
		})
	}()
	b.Cleanup(func() { cancel(); <-done })
	for b.Loop() {
		if _, err := bus.Publish(ctx, "room:bench", store.Event{Type: "mute"}); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

// BenchmarkRenewLeases500 renews the 500 room leases of one node (10,000
// rooms over 20 nodes) in one pipeline: one op is one whole round.
func BenchmarkRenewLeases500(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	ls := make([]store.Lease, 500)
	for i := range ls {
		l, err := s.AcquireLease(ctx, fmt.Sprintf("room:%d", i), "n1", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		ls[i] = l
	}
	b.ResetTimer()
	for b.Loop() {
		out, errs, err := s.RenewLeases(ctx, ls, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range errs {
			if e != nil {
				b.Fatal(e)
			}
		}
		ls = out
	}
}
