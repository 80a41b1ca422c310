package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"cusax.dev/bridge/store"
)

// The registry on one node holds that node alone, but keeping it in the file
// lets the same placement code run with either backend. Bucket: nodes/<id> =
// JSON nodeRecord; expiry by this machine's wall clock.
var bucketNodes = []byte("nodes")

var _ store.Nodes = (*Store)(nil)

type nodeRecord struct {
	Node    store.Node `json:"node"`
	Expires int64      `json:"expires"` // Unix nanoseconds
}

// Heartbeat implements store.Nodes.
func (s *Store) Heartbeat(ctx context.Context, n store.Node, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckNode(n, ttl); err != nil {
		return err
	}
	now := time.Now()
	if n.Updated.IsZero() {
		n.Updated = now
	}
	v, err := json.Marshal(nodeRecord{Node: n, Expires: now.Add(ttl).UnixNano()})
	if err != nil {
		return fmt.Errorf("bolt: encoding node %q: %w", n.ID, err)
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketNodes)
		if err != nil {
			return err
		}
		return b.Put([]byte(n.ID), v)
	})
}

// ListNodes implements store.Nodes; entries past their TTL are skipped.
func (s *Store) ListNodes(ctx context.Context) ([]store.Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	var out []store.Node
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketNodes)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r nodeRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: decoding node %q: %w", k, err)
			}
			if now < r.Expires {
				out = append(out, r.Node)
			}
			return nil
		})
	})
	return out, err
}

// RemoveNode implements store.Nodes.
func (s *Store) RemoveNode(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketNodes)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(id))
	})
}
