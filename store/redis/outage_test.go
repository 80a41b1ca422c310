package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/redis"
)

func openURL(t *testing.T, cfg redis.Config) *redis.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redis.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eventually retries fn until it succeeds or 15 s pass: the client
// reconnects on its own after an outage, but the first calls may fail.
func eventually(t *testing.T, what string, fn func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := fn(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after 15 s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCrashRestart: with appendfsync always, Redis killed with SIGKILL and
// started again keeps every acknowledged write (rooms, affiliations, the
// fencing counter), the same Store reconnects by itself, and a running bus
// subscription resumes without losing or repeating an event.
func TestCrashRestart(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t, "--appendonly", "yes", "--appendfsync", "always")
	s := openURL(t, redis.Config{URL: srv.URL})
	ctx := t.Context()

	room := store.Room{Name: "standup", Config: store.RoomConfig{Title: "Standup", MembersOnly: true}}
	if err := s.PutRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAffiliation(ctx, "standup", store.AffiliationEntry{JID: "troll@example.test", Affiliation: store.AffiliationOutcast, Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLease(ctx, store.RoomLeaseName("standup"), "node1", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}

	bus := s.Bus(0)
	got := make(chan string, 10)
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- bus.Subscribe(sctx, store.RoomTopic("standup"), "owner", func(_ context.Context, e store.Event) error {
			got <- e.Type
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Subscribe = %v after cancel", err)
		}
	})
	if _, err := bus.Publish(ctx, store.RoomTopic("standup"), store.Event{Type: "before"}); err != nil {
		t.Fatal(err)
	}
	expect(t, got, "before")

	srv.Restart(t)

	eventually(t, "GetRoom after restart", func(ctx context.Context) error {
		r, err := s.GetRoom(ctx, "standup")
		if err == nil && (r.Config.Title != "Standup" || !r.Config.MembersOnly) {
			t.Fatalf("room after restart = %+v", r)
		}
		return err
	})
	affs, err := s.Affiliations(ctx, "standup")
	if err != nil || len(affs) != 1 || affs[0].Affiliation != store.AffiliationOutcast {
		t.Errorf("ban after restart = %v, %v", affs, err)
	}
	var l2 store.Lease
	eventually(t, "AcquireLease after the old grant lapsed", func(ctx context.Context) error {
		l2, err = s.AcquireLease(ctx, store.RoomLeaseName("standup"), "node2", 10*time.Second)
		return err
	})
	if l2.Token <= l.Token {
		t.Errorf("token after a Redis crash = %d, want > %d (the counter must survive)", l2.Token, l.Token)
	}
	eventually(t, "Publish after restart", func(ctx context.Context) error {
		_, err := bus.Publish(ctx, store.RoomTopic("standup"), store.Event{Type: "after"})
		return err
	})
	expect(t, got, "after")
	select {
	case e := <-got:
		t.Errorf("extra event %q: an accepted event came again", e)
	case <-time.After(300 * time.Millisecond):
	}
}

func expect(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case e := <-got:
		if e != want {
			t.Fatalf("event %q, want %q", e, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("event %q not delivered within 20 s", want)
	}
}

// TestWaitReplicas: with WaitReplicas set, a write is acknowledged only once
// a real replica has it, and refused when no replica answers in time.
func TestWaitReplicas(t *testing.T) {
	testpeer.Integration(t)
	// No diskless-sync delay: the replica's first sync is then immediate.
	primary := testpeer.StartRedisServer(t, "--repl-diskless-sync-delay", "0")

	lonely := openURL(t, redis.Config{URL: primary.URL, Prefix: "lonely", WaitReplicas: 1, WaitTimeout: 100 * time.Millisecond})
	err := lonely.PutRoom(t.Context(), store.Room{Name: "r"})
	if err == nil || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("PutRoom with WaitReplicas 1 and no replica = %v, want a replicas error", err)
	}

	host, port, _ := strings.Cut(primary.Addr, ":")
	replica := testpeer.StartRedisServer(t, "--replicaof", host, port)
	s := openURL(t, redis.Config{URL: primary.URL, WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	eventually(t, "PutRoom acknowledged by a replica", func(ctx context.Context) error {
		return s.PutRoom(ctx, store.Room{Name: "replicated"})
	})
	if _, err := s.AcquireLease(t.Context(), "component:c", "n1", 10*time.Second); err != nil {
		t.Errorf("AcquireLease with a replica: %v", err)
	}
	if err := s.DeleteRoom(t.Context(), "gone"); err != nil {
		t.Errorf("DeleteRoom with a replica: %v", err)
	}
	if _, err := s.Bus(0).Publish(t.Context(), "node:n1", store.Event{Type: "x"}); err != nil {
		t.Errorf("Publish with a replica: %v", err)
	}
	// Read the room back from the replica itself.
	r := openURL(t, redis.Config{URL: replica.URL})
	if _, err := r.GetRoom(t.Context(), "replicated"); err != nil {
		t.Errorf("room on the replica right after the acknowledgement: %v", err)
	}
	if _, err := r.GetRoom(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRoom(absent) on replica = %v", err)
	}
}

// TestRestartWithoutPersistence: a Redis that comes back empty (no AOF) has
// forgotten the consumer group; a running subscription recreates it and
// goes on delivering what is published afterwards.
func TestRestartWithoutPersistence(t *testing.T) {
	testpeer.Integration(t)
	srv := testpeer.StartRedisServer(t)
	s := openURL(t, redis.Config{URL: srv.URL})
	bus := s.Bus(0)
	got := make(chan string, 10)
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- bus.Subscribe(sctx, store.NodeTopic("n1"), "n1", func(_ context.Context, e store.Event) error {
			got <- e.Type
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := bus.Publish(t.Context(), store.NodeTopic("n1"), store.Event{Type: "before"}); err != nil {
		t.Fatal(err)
	}
	expect(t, got, "before")
	srv.Restart(t)
	eventually(t, "Publish after restart", func(ctx context.Context) error {
		_, err := bus.Publish(ctx, store.NodeTopic("n1"), store.Event{Type: "after"})
		return err
	})
	expect(t, got, "after")
}
