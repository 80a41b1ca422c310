package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"cusax.dev/bridge/store"
)

// RunBus is the conformance suite for store.Bus. newBus returns a fresh,
// empty bus (one per subtest).
func RunBus(t *testing.T, newBus func(t *testing.T) store.Bus) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Bus)
	}{
		{"PublishedBeforeSubscribe", testBusBacklog},
		{"GroupsEachGetAll", testBusGroups},
		{"RefusedIsRedelivered", testBusRedeliver},
		{"ResumeAfterLastAccepted", testBusResume},
		{"ConcurrentPublishers", testBusConcurrent},
		{"Invalid", testBusInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBus(t)) })
	}
}

// collector records what a handler accepted and lets a test wait for a count.
type collector struct {
	mu     sync.Mutex
	events []store.Event
	refuse func(store.Event) error
}

func (c *collector) handle(_ context.Context, e store.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse != nil {
		if err := c.refuse(e); err != nil {
			return err
		}
	}
	c.events = append(c.events, e)
	return nil
}

func (c *collector) types() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.events {
		out = append(out, e.Type)
	}
	return out
}

func (c *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := c.types()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s the handler had %d events %v, want %d", len(got), got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscribe runs Subscribe in the background until the returned stop is
// called (or the test ends), and checks that it returned nil.
func subscribe(t *testing.T, b store.Bus, topic, group string, c *collector) (stop func()) {
	t.Helper()
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Subscribe(sctx, topic, group, c.handle) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Subscribe returned %v after cancel, want nil", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("Subscribe did not return within 15 s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func publish(t *testing.T, b store.Bus, topic string, types ...string) {
	t.Helper()
	for _, typ := range types {
		id, err := b.Publish(ctx(t), topic, store.Event{Type: typ, Data: []byte(`{"room":"standup"}`), Origin: "node1"})
		if err != nil {
			t.Fatalf("Publish(%s): %v", typ, err)
		}
		if id == "" {
			t.Fatalf("Publish(%s) returned an empty ID", typ)
		}
	}
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func testBusBacklog(t *testing.T, b store.Bus) {
	publish(t, b, "room:standup", "e1", "e2")
	c := &collector{}
	subscribe(t, b, "room:standup", "owner", c)
	publish(t, b, "room:standup", "e3")
	publish(t, b, "room:other", "x")
	if got := c.wait(t, 3); !equal(got, []string{"e1", "e2", "e3"}) {
		t.Errorf("delivered %v, want [e1 e2 e3] in order", got)
	}
	c.mu.Lock()
	e := c.events[0]
	c.mu.Unlock()
	if e.ID == "" || string(e.Data) != `{"room":"standup"}` || e.Origin != "node1" {
		t.Errorf("delivered event = %+v, want an ID, the data and the origin", e)
	}
}

func testBusGroups(t *testing.T, b store.Bus) {
	a, c := &collector{}, &collector{}
	subscribe(t, b, "node:n1", "g1", a)
	subscribe(t, b, "node:n1", "g2", c)
	publish(t, b, "node:n1", "k1", "k2", "k3")
	for name, col := range map[string]*collector{"g1": a, "g2": c} {
		if got := col.wait(t, 3); !equal(got, []string{"k1", "k2", "k3"}) {
			t.Errorf("group %s got %v, want [k1 k2 k3]", name, got)
		}
	}
}

func testBusRedeliver(t *testing.T, b store.Bus) {
	refusals := 0
	c := &collector{refuse: func(e store.Event) error {
		if e.Type == "bad" && refusals < 2 {
			refusals++
			return errors.New("not now")
		}
		return nil
	}}
	publish(t, b, "room:r", "a", "bad", "c")
	subscribe(t, b, "room:r", "owner", c)
	if got := c.wait(t, 3); !equal(got, []string{"a", "bad", "c"}) {
		t.Errorf("delivered %v, want [a bad c]: a refused event comes again before later ones", got)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if refusals != 2 {
		t.Errorf("refused %d times, want 2", refusals)
	}
}

func testBusResume(t *testing.T, b store.Bus) {
	c := &collector{}
	stop := subscribe(t, b, "room:q", "owner", c)
	publish(t, b, "room:q", "one", "two")
	c.wait(t, 2)
	stop()
	publish(t, b, "room:q", "three") // while nobody listens
	c2 := &collector{}
	subscribe(t, b, "room:q", "owner", c2) // the successor, same group
	publish(t, b, "room:q", "four")
	if got := c2.wait(t, 2); !equal(got, []string{"three", "four"}) {
		t.Errorf("successor got %v, want [three four]: no loss, no repeat of accepted events", got)
	}
	time.Sleep(100 * time.Millisecond)
	if got := c2.types(); len(got) != 2 {
		t.Errorf("successor got %v, want exactly [three four]", got)
	}
}

func testBusConcurrent(t *testing.T, b store.Bus) {
	c := &collector{}
	subscribe(t, b, "node:busy", "g", c)
	var wg sync.WaitGroup
	for p := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if _, err := b.Publish(context.Background(), "node:busy", store.Event{Type: fmt.Sprintf("p%d-%d", p, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := c.wait(t, 100)
	seen := map[string]int{}
	next := map[int]int{}
	for _, typ := range got {
		seen[typ]++
		var p, i int
		fmt.Sscanf(typ, "p%d-%d", &p, &i)
		if i != next[p] {
			t.Errorf("publisher %d's event %d arrived when %d was due: order within a publisher lost", p, i, next[p])
		}
		next[p] = i + 1
	}
	if len(seen) != 100 {
		t.Errorf("received %d distinct events, want 100", len(seen))
	}
}

func testBusInvalid(t *testing.T, b store.Bus) {
	if _, err := b.Publish(ctx(t), "", store.Event{Type: "x"}); err == nil {
		t.Error("Publish without a topic = nil error")
	}
	if _, err := b.Publish(ctx(t), "t", store.Event{}); err == nil {
		t.Error("Publish without a type = nil error")
	}
	h := func(context.Context, store.Event) error { return nil }
	if err := b.Subscribe(ctx(t), "t", "", h); err == nil {
		t.Error("Subscribe without a group = nil error")
	}
	if err := b.Subscribe(ctx(t), "t", "g", nil); err == nil {
		t.Error("Subscribe without a handler = nil error")
	}
}
