package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/redis"
	"cusax.dev/bridge/store/storetest"
)

// server is one redis-server for the whole package run; every backend gets
// its own key prefix, so subtests never see each other's keys.
type server struct {
	url string
	n   atomic.Int64
}

func (sv *server) open(t *testing.T, prefix string) *redis.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redis.Open(ctx, redis.Config{URL: sv.url, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (sv *server) fresh(t *testing.T) *redis.Store {
	return sv.open(t, fmt.Sprintf("t%d", sv.n.Add(1)))
}

func startServer(t *testing.T) *server {
	testpeer.Integration(t)
	return &server{url: testpeer.StartRedis(t)}
}

func TestConformance(t *testing.T) {
	sv := startServer(t)
	prefixes := map[store.Store]string{}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) store.Store {
			p := fmt.Sprintf("t%d", sv.n.Add(1))
			s := sv.open(t, p)
			prefixes[s] = p
			return s
		},
		Reopen: func(t *testing.T, old store.Store) store.Store {
			p := prefixes[old]
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			s := sv.open(t, p)
			prefixes[s] = p
			return s
		},
	})
}

func TestLeaseConformance(t *testing.T) {
	sv := startServer(t)
	storetest.RunLeases(t, func(t *testing.T) store.Leases { return sv.fresh(t) })
}

func TestNodeConformance(t *testing.T) {
	sv := startServer(t)
	storetest.RunNodes(t, func(t *testing.T) store.Nodes { return sv.fresh(t) })
}

func TestBusConformance(t *testing.T) {
	sv := startServer(t)
	storetest.RunBus(t, func(t *testing.T) store.Bus { return sv.fresh(t).Bus(0) })
}
