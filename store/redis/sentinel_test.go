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

// TestSentinel runs the store and lease suites through a real Sentinel: the
// URL with master_name= must select go-redis's failover client, which asks
// the Sentinel for the primary.
func TestSentinel(t *testing.T) {
	testpeer.Integration(t)
	sv := &server{url: testpeer.StartRedisSentinel(t)}
	var n atomic.Int64
	prefixes := map[store.Store]string{}
	t.Run("Store", func(t *testing.T) {
		storetest.Run(t, storetest.Harness{
			New: func(t *testing.T) store.Store {
				p := fmt.Sprintf("s%d", n.Add(1))
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
}

// TestSentinelFailover: with WaitReplicas 1, every write acknowledged before
// the primary is killed is on the replica Sentinel promotes, and the same
// Store follows the promotion by itself.
func TestSentinelFailover(t *testing.T) {
	testpeer.Integration(t)
	g := testpeer.StartRedisSentinelGroup(t, 1)
	s := openURL(t, redis.Config{URL: g.URL, WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	eventually(t, "first write reaching the replica", func(ctx context.Context) error {
		return s.PutRoom(ctx, store.Room{Name: "r0"})
	})
	const rooms = 50
	for i := 1; i < rooms; i++ {
		name := fmt.Sprintf("r%d", i)
		if err := s.PutRoom(t.Context(), store.Room{Name: name, Config: store.RoomConfig{Title: name}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAffiliation(t.Context(), name, store.AffiliationEntry{JID: "troll@example.test", Affiliation: store.AffiliationOutcast}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.AcquireLease(t.Context(), store.ComponentLeaseName("conference.example.test"), "n1", 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}

	g.Primary.Kill()

	eventually(t, "reading through the promoted replica", func(ctx context.Context) error {
		_, err := s.GetRoom(ctx, "r0")
		return err
	})
	list, err := s.ListRooms(t.Context())
	if err != nil || len(list) != rooms {
		t.Fatalf("after failover %d rooms (%v), want %d acknowledged before it", len(list), err, rooms)
	}
	for i := range rooms {
		affs, err := s.Affiliations(t.Context(), fmt.Sprintf("r%d", i))
		if i > 0 && (err != nil || len(affs) != 1) {
			t.Errorf("room r%d after failover: affiliations %v, %v; want the ban", i, affs, err)
		}
	}
	// The fencing counter came across too. With no replica left, grants
	// cannot be WAITed for: use a second Store without WaitReplicas.
	plain := openURL(t, redis.Config{URL: g.URL})
	var l2 store.Lease
	eventually(t, "taking the component lease after the failover", func(ctx context.Context) error {
		l2, err = plain.AcquireLease(ctx, l.Name, "n2", 5*time.Second)
		return err
	})
	if l2.Token <= l.Token {
		t.Errorf("token after failover = %d, want > %d", l2.Token, l.Token)
	}
}
