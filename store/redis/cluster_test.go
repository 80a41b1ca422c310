package redis_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/storetest"
)

// TestCluster runs the conformance suites against a real three-node Redis
// Cluster: the hash tags must keep every script's keys in one slot, and the
// URL with addr= parameters must select the Cluster client.
func TestCluster(t *testing.T) {
	testpeer.Integration(t)
	sv := &server{url: testpeer.StartRedisCluster(t, 3)}
	var n atomic.Int64
	prefixes := map[store.Store]string{}
	t.Run("Store", func(t *testing.T) {
		storetest.Run(t, storetest.Harness{
			New: func(t *testing.T) store.Store {
				p := fmt.Sprintf("c%d", n.Add(1))
				s := sv.open(t, p)
				prefixes[s] = p
				return s
			},
			Reopen: func(t *testing.T, old store.Store) store.Store {
				p := prefixes[old]
				old.Close()
				s := sv.open(t, p)
				prefixes[s] = p
				return s
			},
		})
	})
	t.Run("Leases", func(t *testing.T) {
		storetest.RunLeases(t, func(t *testing.T) store.Leases { return sv.fresh(t) })
	})
	t.Run("Nodes", func(t *testing.T) {
		storetest.RunNodes(t, func(t *testing.T) store.Nodes { return sv.fresh(t) })
	})
	t.Run("Bus", func(t *testing.T) {
		storetest.RunBus(t, func(t *testing.T) store.Bus { return sv.fresh(t).Bus(0) })
	})
	t.Run("Tokens", func(t *testing.T) {
		storetest.RunTokens(t, func(t *testing.T) store.Tokens { return sv.fresh(t) })
	})
}
