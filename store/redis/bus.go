package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/store"
)

// The bus is Redis Streams, not pub/sub: pub/sub forgets a message the
// moment it is sent, so a subscriber that is reconnecting (or a node that is
// taking over a room) would miss moderation that was already acknowledged to
// a moderator. A stream keeps every event; a consumer group keeps each
// group's position and the list of events delivered but not yet accepted
// (the PEL), so a group resumes exactly where its handler last said yes.
//
// Each topic is one stream. Each group reads as a single consumer named like
// the group: one subscriber per group at a time (leases guarantee it), and a
// successor under the same group name inherits the pending list as its own.

// DefaultStreamMaxLen is how many events a topic keeps (approximately) when
// Bus is given 0. A group further behind than that loses the oldest.
const DefaultStreamMaxLen = 10000

// Bus returns the Redis Streams event bus over this store's connection.
// maxLen bounds each topic (0 means DefaultStreamMaxLen).
func (s *Store) Bus(maxLen int64) *Bus {
	if maxLen <= 0 {
		maxLen = DefaultStreamMaxLen
	}
	return &Bus{s: s, maxLen: maxLen, block: time.Second, retry: 200 * time.Millisecond}
}

// Bus is a store.Bus on Redis Streams.
type Bus struct {
	s      *Store
	maxLen int64
	block  time.Duration // how long one XREADGROUP waits, bounding ctx-cancel latency
	retry  time.Duration // pause after a handler or Redis error
}

var _ store.Bus = (*Bus)(nil)

// Publish appends e to topic's stream (XADD, trimmed to about maxLen) and,
// with WaitReplicas set, waits for the replicas before acknowledging.
func (b *Bus) Publish(ctx context.Context, topic string, e store.Event) (string, error) {
	if err := store.CheckPublish(topic, e); err != nil {
		return "", err
	}
	key := b.s.k.stream(topic)
	var cmd *goredis.StringCmd
	err := b.s.write(ctx, key, func(c goredis.Cmdable) goredis.Cmder {
		cmd = c.XAdd(ctx, &goredis.XAddArgs{
			Stream: key, MaxLen: b.maxLen, Approx: true,
			Values: []any{"type", e.Type, "data", e.Data, "origin", e.Origin},
		})
		return cmd
	})
	if err != nil {
		return "", fmt.Errorf("redis: publishing %q on %q: %w", e.Type, topic, err)
	}
	return cmd.Val(), nil
}

// Subscribe implements store.Bus. It survives Redis restarts and failovers:
// on an error it logs, pauses and starts again from the group's position,
// recreating the group if the server lost it.
func (b *Bus) Subscribe(ctx context.Context, topic, group string, h func(context.Context, store.Event) error) error {
	if err := store.CheckSubscribe(topic, group, h); err != nil {
		return err
	}
	key := b.s.k.stream(topic)
	for ctx.Err() == nil {
		err := b.consume(ctx, key, group, h)
		if ctx.Err() != nil {
			break
		}
		b.s.log.Warn("bus subscription interrupted; retrying", "topic", topic, "group", group, "err", err)
		sleep(ctx, b.retry)
	}
	return nil
}

// consume runs one session: make sure the group exists, drain the pending
// list, then read new events until ctx ends or Redis fails.
func (b *Bus) consume(ctx context.Context, key, group string, h func(context.Context, store.Event) error) error {
	err := b.s.rdb.XGroupCreateMkStream(ctx, key, group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating group %q on %s: %w", group, key, err)
	}
	// "0" reads this consumer's pending list (delivered, not accepted),
	// ">" new events; pending first keeps the order.
	start := "0"
	for ctx.Err() == nil {
		args := &goredis.XReadGroupArgs{Group: group, Consumer: group, Streams: []string{key, start}, Count: 100}
		if start == ">" {
			args.Block = b.block
		}
		res, err := b.s.rdb.XReadGroup(ctx, args).Result()
		if errors.Is(err, goredis.Nil) {
			continue // block timed out with nothing new
		}
		if err != nil {
			return fmt.Errorf("reading %s as group %q: %w", key, group, err)
		}
		var msgs []goredis.XMessage
		for _, st := range res {
			msgs = append(msgs, st.Messages...)
		}
		if start == "0" && len(msgs) == 0 {
			start = ">"
			continue
		}
		for _, m := range msgs {
			if err := b.deliver(ctx, key, group, m, h); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
		}
	}
	return nil
}

// deliver hands one event to h until h accepts it (then XACK) or ctx ends.
func (b *Bus) deliver(ctx context.Context, key, group string, m goredis.XMessage, h func(context.Context, store.Event) error) error {
	e := store.Event{ID: m.ID}
	e.Type, _ = m.Values["type"].(string)
	if d, ok := m.Values["data"].(string); ok && d != "" {
		e.Data = []byte(d)
	}
	e.Origin, _ = m.Values["origin"].(string)
	if e.Type == "" {
		// A pending entry the stream trimmed away comes back without
		// fields, and a foreign writer's entry has no type: nothing to
		// deliver, so acknowledge it and go on.
		b.s.log.Warn("bus skipped an entry without a type", "stream", key, "group", group, "id", m.ID)
	}
	for e.Type != "" {
		err := h(ctx, e)
		if err == nil {
			break
		}
		b.s.log.Warn("bus handler refused an event; will retry", "stream", key, "group", group, "id", m.ID, "err", err)
		if !sleep(ctx, b.retry) {
			return nil // stays pending: delivered again on the next Subscribe
		}
	}
	// Acknowledge even if ctx just ended: h accepted the event, and a lost
	// XACK only means one harmless redelivery.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := b.s.rdb.XAck(actx, key, group, m.ID).Err(); err != nil {
		return fmt.Errorf("acknowledging %s on %s: %w", m.ID, key, err)
	}
	return nil
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
