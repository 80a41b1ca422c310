package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/store"
)

// The registry is a hash (ID → JSON Node) and a sorted set (ID scored by
// expiry in Redis server milliseconds). Redis 7.0 has no per-field expiry,
// so each script first sweeps entries whose score is in the past, using the
// server's TIME so node clocks never matter.

const sweepLua = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms)
for _, id in ipairs(dead) do redis.call('HDEL', KEYS[1], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ms)
`

var heartbeatScript = goredis.NewScript(sweepLua + `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[3]), ARGV[1])
return 1`)

var listNodesScript = goredis.NewScript(sweepLua + `
return redis.call('HVALS', KEYS[1])`)

var removeNodeScript = goredis.NewScript(`
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`)

// Heartbeat implements store.Nodes.
func (s *Store) Heartbeat(ctx context.Context, n store.Node, ttl time.Duration) error {
	if err := store.CheckNode(n, ttl); err != nil {
		return err
	}
	if n.Updated.IsZero() {
		n.Updated = time.Now()
	}
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("redis: encoding node %q: %w", n.ID, err)
	}
	err = heartbeatScript.Run(ctx, s.rdb, []string{s.k.nodeInfo(), s.k.nodeExpiry()}, n.ID, b, ttl.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redis: heartbeat of node %q: %w", n.ID, err)
	}
	return nil
}

// ListNodes implements store.Nodes.
func (s *Store) ListNodes(ctx context.Context) ([]store.Node, error) {
	vals, err := listNodesScript.Run(ctx, s.rdb, []string{s.k.nodeInfo(), s.k.nodeExpiry()}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: listing nodes: %w", err)
	}
	nodes := make([]store.Node, 0, len(vals))
	for _, v := range vals {
		var n store.Node
		if err := json.Unmarshal([]byte(v), &n); err != nil {
			return nil, fmt.Errorf("redis: decoding node entry %q: %w", v, err)
		}
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
	return nodes, nil
}

// RemoveNode implements store.Nodes.
func (s *Store) RemoveNode(ctx context.Context, id string) error {
	err := removeNodeScript.Run(ctx, s.rdb, []string{s.k.nodeInfo(), s.k.nodeExpiry()}, id).Err()
	if err != nil {
		return fmt.Errorf("redis: removing node %q: %w", id, err)
	}
	return nil
}
