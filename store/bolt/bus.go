package bolt

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"cusax.dev/bridge/store"
)

// Bus is the in-process store.Bus for a single node, where publisher and
// subscriber share one process: events live in memory, so a crash loses the
// undelivered ones together with the process that would have acted on them.
// It keeps the same contract as the Redis bus otherwise (per-group position,
// redelivery until the handler accepts, events published before a group's
// first subscription delivered), so code written against one runs on the
// other. It is not tied to the file; it sits here because the embedded
// backend is the single-node one.
type Bus struct {
	mu     sync.Mutex
	topics map[string]*memTopic
	maxLen int
	closed bool
	retry  time.Duration
}

var _ store.Bus = (*Bus)(nil)

type memTopic struct {
	base   uint64 // sequence number of events[0]
	events []store.Event
	groups map[string]uint64 // next sequence number each group wants
	wake   chan struct{}     // closed and replaced on every publish
}

// NewBus returns an empty in-process bus keeping at most maxLen events per
// topic (0 means 10000); a group further behind loses the oldest.
func NewBus(maxLen int) *Bus {
	if maxLen <= 0 {
		maxLen = 10000
	}
	return &Bus{topics: map[string]*memTopic{}, maxLen: maxLen, retry: 200 * time.Millisecond}
}

// ErrBusClosed is returned by a Bus after Close.
var ErrBusClosed = errors.New("bolt: bus closed")

// Close ends every subscription (they return nil) and refuses new publishes.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		for _, t := range b.topics {
			close(t.wake)
		}
	}
	return nil
}

func (b *Bus) topic(name string) *memTopic {
	t := b.topics[name]
	if t == nil {
		t = &memTopic{base: 1, groups: map[string]uint64{}, wake: make(chan struct{})}
		b.topics[name] = t
	}
	return t
}

// Publish implements store.Bus.
func (b *Bus) Publish(ctx context.Context, topic string, e store.Event) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := store.CheckPublish(topic, e); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", ErrBusClosed
	}
	t := b.topic(topic)
	seq := t.base + uint64(len(t.events))
	e.ID = strconv.FormatUint(seq, 10)
	e.Data = append([]byte(nil), e.Data...)
	t.events = append(t.events, e)
	if over := len(t.events) - b.maxLen; over > 0 {
		t.events = append([]store.Event(nil), t.events[over:]...)
		t.base += uint64(over)
	}
	close(t.wake)
	t.wake = make(chan struct{})
	return e.ID, nil
}

// Subscribe implements store.Bus.
func (b *Bus) Subscribe(ctx context.Context, topic, group string, h func(context.Context, store.Event) error) error {
	if err := store.CheckSubscribe(topic, group, h); err != nil {
		return err
	}
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil
		}
		t := b.topic(topic)
		next, ok := t.groups[group]
		if !ok || next < t.base {
			next = t.base
			t.groups[group] = next
		}
		var e store.Event
		have := next < t.base+uint64(len(t.events))
		if have {
			e = t.events[next-t.base]
		}
		wake := t.wake
		b.mu.Unlock()

		if !have {
			select {
			case <-ctx.Done():
				return nil
			case <-wake:
			}
			continue
		}
		if err := h(ctx, e); err != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(b.retry):
			}
			continue
		}
		b.mu.Lock()
		if t.groups[group] == next {
			t.groups[group] = next + 1
		}
		b.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// String describes the bus for logs.
func (b *Bus) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprintf("in-process bus (%d topics)", len(b.topics))
}
