package store

import (
	"context"
	"errors"
	"fmt"
)

// Bus carries events between nodes: moderation for a room owned by another
// node travels to its owner ("revoke voice of alice in standup"), and room
// life-cycle news reaches everyone. Delivery is at least once: an event whose
// Publish returned nil is delivered to every group subscribed to its topic,
// even one that subscribes later or restarts in between, until the group's
// handler has returned nil for it. Handlers must therefore be idempotent
// (carry an ID or a fencing token and ignore repeats).
type Bus interface {
	// Publish appends an event to topic and returns its ID (ordered within
	// the topic). A nil error means the event is stored and will be
	// delivered.
	Publish(ctx context.Context, topic string, e Event) (string, error)
	// Subscribe delivers topic's events in order to h, on behalf of group:
	// each group has its own position, kept by the bus, so a group that
	// resubscribes continues after the last event its handler accepted
	// (events published before the group's first subscription included,
	// as far back as the bus retains them). An error from h leaves the event
	// unaccepted: it is delivered again, after a short pause, before any
	// later one. One subscriber per group at a time: ownership leases
	// guarantee it for room topics. Subscribe blocks until ctx ends (then it
	// returns nil) or the bus fails.
	Subscribe(ctx context.Context, topic, group string, h func(context.Context, Event) error) error
}

// Event is one message on the bus.
type Event struct {
	// ID is set by the bus on delivery; ignored on Publish.
	ID string `json:"id,omitempty"`
	// Type says what happened ("voice-revoked", "kick", …); the bus does not
	// interpret it.
	Type string `json:"type"`
	// Data is the payload, usually JSON.
	Data []byte `json:"data,omitempty"`
	// Origin is the publishing node's ID, so a node can skip its own events.
	Origin string `json:"origin,omitempty"`
}

// CheckPublish validates what every backend refuses alike.
func CheckPublish(topic string, e Event) error {
	if topic == "" {
		return errors.New("store: bus event needs a topic, got an empty one")
	}
	if e.Type == "" {
		return fmt.Errorf("store: bus event on %q needs a type, got an empty one", topic)
	}
	return nil
}

// CheckSubscribe validates what every backend refuses alike.
func CheckSubscribe(topic, group string, h func(context.Context, Event) error) error {
	if topic == "" || group == "" {
		return fmt.Errorf("store: subscription needs a topic and a group, got %q and %q", topic, group)
	}
	if h == nil {
		return fmt.Errorf("store: subscription to %q needs a handler, got nil", topic)
	}
	return nil
}

// NodeTopic is the topic of one node's inbox: moderation for the rooms a node
// owns is sent here (one subscription per node, whatever its room count).
func NodeTopic(nodeID string) string { return "node:" + nodeID }

// RoomTopic is the topic of one room's events, for a consumer that must
// survive a change of owner (read with a fixed group such as "owner", so a
// successor continues where the last one stopped). Each subscription holds a
// connection, so prefer NodeTopic for per-room traffic at scale.
func RoomTopic(room string) string { return "room:" + room }
