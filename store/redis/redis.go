// Package redis is the store backend for many nodes: rooms, affiliations,
// leases with fencing tokens, the node registry and the event bus, kept in
// Redis through github.com/redis/go-redis/v9. One URL selects a single
// server, a Sentinel-managed primary or a Cluster (see Open).
//
// Durability: Redis acknowledges a write once it is in the primary's memory.
// What survives a crash is then the server's business (appendonly yes with
// appendfsync always or everysec); what survives a failover to a replica is
// bought with WAIT, which this package sends after every state write when
// Config.WaitReplicas > 0. docs/design/08_many_nodes.md weighs the two.
package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/store"
)

// Config says which Redis to use and how hard to insist on durability.
type Config struct {
	// URL selects the deployment:
	//   redis://[user:pass@]host:port/db           a single server
	//   rediss://…                                  the same over TLS
	//   unix:///path/redis.sock?db=N                a local socket
	//   redis://sentinel:26379?master_name=mymaster&addr=sentinel2:26379
	//                                               Sentinel: the host and each addr are sentinels
	//   redis://node1:6379?addr=node2:6379&addr=node3:6379
	//                                               Cluster: two or more seed nodes
	// Query parameters are go-redis option names in snake case
	// (dial_timeout=3s, max_retries=5, …).
	URL string
	// Prefix is put before every key so that several bridges can share one
	// Redis; empty means "bridge".
	Prefix string
	// WaitReplicas, when > 0, makes every state write (rooms, affiliations,
	// lease acquisition) wait until that many replicas have it (Redis WAIT)
	// before it is acknowledged, so a Sentinel or Cluster failover does not
	// lose it. A write that reaches fewer replicas within WaitTimeout fails.
	WaitReplicas int
	// WaitTimeout bounds WAIT; 0 means 1 s.
	WaitTimeout time.Duration
	// Logger receives connection trouble; nil discards.
	Logger *slog.Logger
}

// Store is a Redis-backed store.Store, store.Leases and store.Nodes; Bus
// returns its event bus.
type Store struct {
	rdb     goredis.UniversalClient
	cluster *goredis.ClusterClient // non-nil in Cluster mode, for WAIT on the right primary
	k       keys
	waitN   int
	waitTO  time.Duration
	log     *slog.Logger
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Leases = (*Store)(nil)
	_ store.Nodes  = (*Store)(nil)
)

// Open connects to the Redis that cfg.URL names and checks it answers PING
// within ctx.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	rdb, err := newClient(cfg.URL)
	if err != nil {
		return nil, err
	}
	s := &Store{
		rdb:    rdb,
		k:      newKeys(cfg.Prefix),
		waitN:  cfg.WaitReplicas,
		waitTO: cfg.WaitTimeout,
		log:    cfg.Logger,
	}
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		s.cluster = cc
	}
	if s.waitTO <= 0 {
		s.waitTO = time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis: no answer to PING from %s: %w", redactURL(cfg.URL), err)
	}
	return s, nil
}

// ParseURL turns a bridge Redis URL into go-redis universal options: a
// master_name parameter means Sentinel, extra addr parameters mean Cluster,
// anything else is one server (redis.ParseURL). A unix:// URL gives an error
// wrapping errUnixSocket (Open handles it with a plain client).
func ParseURL(raw string) (*goredis.UniversalOptions, error) {
	if raw == "" {
		return nil, errors.New("redis: URL is required, got an empty one")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis: parsing URL %s: %w", redactURL(raw), err)
	}
	q := u.Query()
	switch {
	case q.Get("master_name") != "":
		fo, err := goredis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis: Sentinel URL %s: %w", redactURL(raw), err)
		}
		return &goredis.UniversalOptions{
			Addrs: fo.SentinelAddrs, MasterName: fo.MasterName, DB: fo.DB,
			Username: fo.Username, Password: fo.Password,
			SentinelUsername: fo.SentinelUsername, SentinelPassword: fo.SentinelPassword,
			TLSConfig: fo.TLSConfig, DialTimeout: fo.DialTimeout, ReadTimeout: fo.ReadTimeout,
			WriteTimeout: fo.WriteTimeout, MaxRetries: fo.MaxRetries, PoolSize: fo.PoolSize,
			ClientName: fo.ClientName,
		}, nil
	case len(q["addr"]) > 0:
		co, err := goredis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis: Cluster URL %s: %w", redactURL(raw), err)
		}
		return &goredis.UniversalOptions{
			Addrs: co.Addrs, IsClusterMode: true,
			Username: co.Username, Password: co.Password, TLSConfig: co.TLSConfig,
			DialTimeout: co.DialTimeout, ReadTimeout: co.ReadTimeout, WriteTimeout: co.WriteTimeout,
			MaxRetries: co.MaxRetries, PoolSize: co.PoolSize, ClientName: co.ClientName,
		}, nil
	default:
		o, err := goredis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis: URL %s: %w", redactURL(raw), err)
		}
		if o.Network == "unix" {
			return nil, errUnixSocket
		}
		return &goredis.UniversalOptions{
			Addrs: []string{o.Addr}, DB: o.DB,
			Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			MaxRetries: o.MaxRetries, PoolSize: o.PoolSize, ClientName: o.ClientName,
		}, nil
	}
}

// errUnixSocket tells newClient that a unix:// URL needs a plain client:
// UniversalOptions has no network field.
var errUnixSocket = errors.New("redis: unix socket URL")

// newClient builds the client for raw: universal for TCP (single, Sentinel,
// Cluster), a plain client for a unix socket.
func newClient(raw string) (goredis.UniversalClient, error) {
	opts, err := ParseURL(raw)
	if errors.Is(err, errUnixSocket) {
		o, err := goredis.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		return goredis.NewClient(o), nil
	}
	if err != nil {
		return nil, err
	}
	return goredis.NewUniversalClient(opts), nil
}

// redactURL hides the password so an error can name the URL safely.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Close closes every connection; calls after Close fail.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping reports whether Redis answers, for a readiness check.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// write runs one state-changing command (usually a Lua script, so several
// keys change atomically) and, when WaitReplicas is set, WAIT on the same
// connection, so the acknowledgement means "on N replicas too". key routes
// the pair to its primary in Cluster mode. fn queues or runs its command on c
// and returns it; write returns that command's error (redis.Nil included,
// for the caller to read as "absent").
func (s *Store) write(ctx context.Context, key string, fn func(c goredis.Cmdable) goredis.Cmder) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.waitN <= 0 {
		return fn(s.rdb).Err()
	}
	var node goredis.Cmdable = s.rdb
	if s.cluster != nil {
		c, err := s.cluster.MasterForKey(ctx, key)
		if err != nil {
			return fmt.Errorf("redis: finding the primary for %s: %w", key, err)
		}
		node = c
	}
	var cmd goredis.Cmder
	var wait *goredis.Cmd
	_, err := node.Pipelined(ctx, func(p goredis.Pipeliner) error {
		cmd = fn(p)
		wait = p.Do(ctx, "WAIT", s.waitN, s.waitTO.Milliseconds())
		return nil
	})
	if cmd != nil && cmd.Err() != nil {
		return cmd.Err()
	}
	if err != nil {
		return err
	}
	if n, _ := wait.Int64(); n < int64(s.waitN) {
		return fmt.Errorf("redis: write to %s reached %d replicas within %v, want %d", key, n, s.waitTO, s.waitN)
	}
	return nil
}

// runScript runs sc on c: EVALSHA with the EVAL fallback on a client, plain
// EVAL inside a pipeline, where the NOSCRIPT fallback cannot happen (the
// replies arrive only after the whole pipeline was sent).
func runScript(ctx context.Context, c goredis.Cmdable, sc *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	if _, ok := c.(goredis.Pipeliner); ok {
		return sc.Eval(ctx, c, keys, args...)
	}
	return sc.Run(ctx, c, keys, args...)
}
