package redis

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/store"
)

// TestBusSkipsForeignEntries: an entry some other writer put on the stream,
// without the fields this bus writes, is acknowledged and skipped; it
// neither reaches the handler nor blocks the events behind it.
func TestBusSkipsForeignEntries(t *testing.T) {
	testpeer.Integration(t)
	url := testpeer.StartRedis(t)
	s, err := Open(t.Context(), Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := s.k.stream("node:n1")
	if err := s.rdb.XAdd(t.Context(), &goredis.XAddArgs{Stream: key, Values: []any{"junk", "1"}}).Err(); err != nil {
		t.Fatal(err)
	}
	bus := s.Bus(0)
	if _, err := bus.Publish(t.Context(), "node:n1", store.Event{Type: "real"}); err != nil {
		t.Fatal(err)
	}
	got := make(chan store.Event, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- bus.Subscribe(ctx, "node:n1", "n1", func(_ context.Context, e store.Event) error {
			got <- e
			return nil
		})
	}()
	defer func() { cancel(); <-done }()
	select {
	case e := <-got:
		if e.Type != "real" {
			t.Fatalf("first delivered event = %+v, want the real one", e)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the real event was not delivered within 15 s")
	}
	// The acknowledgement follows the handler's return: poll for it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		pending, err := s.rdb.XPending(t.Context(), key, "n1").Result()
		if err == nil && pending.Count == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending 15 s after delivery = %+v, %v; want none (the foreign entry acknowledged too)", pending, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
