package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Node is one bridge process as the registry knows it: where to send calls
// for rooms it owns and how busy it is, so new rooms go to the least loaded.
type Node struct {
	// ID is the node's name among many (--node-id).
	ID string `json:"id"`
	// SIPURI is where an INVITE for a room this node owns is redirected
	// (302 Contact) or proxied, for example "sip:10.0.0.7:5060".
	SIPURI string `json:"sip_uri,omitempty"`
	// SIPSURI is its SIP over TLS listener, e.g. "sips:10.0.0.7:5061",
	// where callers who came over TLS are sent; empty without TLS.
	SIPSURI string `json:"sips_uri,omitempty"`
	// WebURL is its public web server (browser join), e.g.
	// "https://meet-2.example.com", where a browser joining a room this
	// node owns is sent (307); empty without browser join.
	WebURL string `json:"web_url,omitempty"`
	// Rooms is how many rooms the node owns; Calls how many call legs it
	// carries. Load is the figure placement compares: what it measures is
	// the caller's choice (calls, or CPU percent), the same on every node.
	Rooms int `json:"rooms"`
	Calls int `json:"calls"`
	Load  int `json:"load"`
	// Draining nodes take no new rooms.
	Draining bool `json:"draining,omitempty"`
	// Updated is when the node last reported, by its own clock.
	Updated time.Time `json:"updated"`
}

// Nodes is the registry of live nodes. A node reports itself every few
// seconds with Heartbeat; an entry not refreshed within its TTL disappears,
// so a dead node drops out of placement by itself.
type Nodes interface {
	// Heartbeat records n as live for ttl from now, replacing its last entry.
	Heartbeat(ctx context.Context, n Node, ttl time.Duration) error
	// ListNodes returns the live nodes ordered by ID.
	ListNodes(ctx context.Context) ([]Node, error)
	// RemoveNode drops the node at once (a clean shutdown); absent is fine.
	RemoveNode(ctx context.Context, id string) error
}

// CheckNode validates a heartbeat every backend refuses alike.
func CheckNode(n Node, ttl time.Duration) error {
	if n.ID == "" {
		return errors.New("store: node needs an ID, got an empty one")
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("store: node %q needs a TTL of at least 1ms, got %v", n.ID, ttl)
	}
	return nil
}

// LeastLoaded picks the node a new room goes to: not draining, lowest Load,
// then fewest rooms, then lowest ID so every node picks the same one from the
// same list. ok is false when no node can take a room.
func LeastLoaded(nodes []Node) (best Node, ok bool) {
	for _, n := range nodes {
		if n.Draining {
			continue
		}
		if !ok || n.Load < best.Load ||
			(n.Load == best.Load && (n.Rooms < best.Rooms || (n.Rooms == best.Rooms && n.ID < best.ID))) {
			best, ok = n, true
		}
	}
	return best, ok
}
