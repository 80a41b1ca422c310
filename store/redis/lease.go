package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/store"
)

// A lease is one string key "<token> <holder>" with a PX expiry set by Redis
// itself (so node clocks never matter), next to a counter key that INCR turns
// into the fencing token. Both keys share a hash tag, so the scripts below
// touch one Cluster slot.

// acquireScript grants the lease with SET NX PX when the key is absent
// (never granted, released or expired), drawing the token from INCR first.
// It returns {token, ""} on success and {0, current value} when held.
var acquireScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur} end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], t .. ' ' .. ARGV[1], 'NX', 'PX', ARGV[2])
return {t, ''}`)

// renewScript extends the expiry only if the key still holds exactly this
// grant: compare-and-renew.
var renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the key only if it still holds this grant, so a
// late release never frees a successor's lease.
var releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

func leaseValue(l store.Lease) string {
	return strconv.FormatUint(l.Token, 10) + " " + l.Holder
}

func parseLeaseValue(name, v string) (store.Lease, error) {
	tok, holder, ok := strings.Cut(v, " ")
	t, err := strconv.ParseUint(tok, 10, 64)
	if !ok || err != nil {
		return store.Lease{}, fmt.Errorf("redis: lease %q holds %q, want \"<token> <holder>\"", name, v)
	}
	return store.Lease{Name: name, Holder: holder, Token: t}, nil
}

// AcquireLease implements store.Leases.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if err := store.CheckLeaseRequest(name, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	start := time.Now()
	var cmd *goredis.Cmd
	err := s.write(ctx, s.k.lease(name), func(c goredis.Cmdable) goredis.Cmder {
		cmd = runScript(ctx, c, acquireScript, []string{s.k.lease(name), s.k.leaseToken(name)}, holder, ttl.Milliseconds())
		return cmd
	})
	if err != nil {
		return store.Lease{}, fmt.Errorf("redis: acquiring lease %q: %w", name, err)
	}
	res, err := cmd.Slice()
	if err != nil || len(res) != 2 {
		return store.Lease{}, fmt.Errorf("redis: acquiring lease %q: unexpected reply %v: %v", name, res, err)
	}
	tok, _ := res[0].(int64)
	if tok == 0 {
		cur, _ := res[1].(string)
		held, _ := parseLeaseValue(name, cur)
		return store.Lease{}, fmt.Errorf("redis: lease %q is held by %q (token %d): %w", name, held.Holder, held.Token, store.ErrLeaseHeld)
	}
	return store.Lease{Name: name, Holder: holder, Token: uint64(tok), Expires: start.Add(ttl)}, nil
}

// RenewLease implements store.Leases.
func (s *Store) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if err := store.CheckLeaseRequest(l.Name, l.Holder, ttl); err != nil {
		return l, err
	}
	start := time.Now()
	n, err := renewScript.Run(ctx, s.rdb, []string{s.k.lease(l.Name)}, leaseValue(l), ttl.Milliseconds()).Int()
	if err != nil {
		return l, fmt.Errorf("redis: renewing lease %q: %w", l.Name, err)
	}
	if n != 1 {
		return l, fmt.Errorf("redis: renewing lease %q token %d: %w", l.Name, l.Token, store.ErrLeaseLost)
	}
	l.Expires = start.Add(ttl)
	return l, nil
}

// ReleaseLease implements store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.k.lease(l.Name)}, leaseValue(l)).Int()
	if err != nil {
		return fmt.Errorf("redis: releasing lease %q: %w", l.Name, err)
	}
	if n != 1 {
		return fmt.Errorf("redis: releasing lease %q token %d: %w", l.Name, l.Token, store.ErrLeaseLost)
	}
	return nil
}

// LeaseHolder implements store.Leases.
func (s *Store) LeaseHolder(ctx context.Context, name string) (store.Lease, error) {
	start := time.Now()
	pipe := s.rdb.Pipeline()
	get := pipe.Get(ctx, s.k.lease(name))
	pttl := pipe.PTTL(ctx, s.k.lease(name))
	_, err := pipe.Exec(ctx)
	if errors.Is(err, goredis.Nil) || errors.Is(get.Err(), goredis.Nil) {
		return store.Lease{}, fmt.Errorf("redis: lease %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Lease{}, fmt.Errorf("redis: reading lease %q: %w", name, err)
	}
	l, err := parseLeaseValue(name, get.Val())
	if err != nil {
		return l, err
	}
	if d := pttl.Val(); d > 0 {
		l.Expires = start.Add(d)
	}
	return l, nil
}

var _ store.LeaseBatch = (*Store)(nil)

// RenewLeases implements store.LeaseBatch with one pipeline of
// compare-and-renew scripts (EVAL, since a pipeline cannot fall back from
// EVALSHA). In Cluster mode go-redis splits the pipeline per node.
func (s *Store) RenewLeases(ctx context.Context, ls []store.Lease, ttl time.Duration) ([]store.Lease, []error, error) {
	out := make([]store.Lease, len(ls))
	errs := make([]error, len(ls))
	cmds := make([]*goredis.Cmd, len(ls))
	start := time.Now()
	pipe := s.rdb.Pipeline()
	for i, l := range ls {
		out[i] = l
		if err := store.CheckLeaseRequest(l.Name, l.Holder, ttl); err != nil {
			errs[i] = err
			continue
		}
		cmds[i] = renewScript.Eval(ctx, pipe, []string{s.k.lease(l.Name)}, leaseValue(l), ttl.Milliseconds())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return out, errs, fmt.Errorf("redis: renewing %d leases: %w", len(ls), err)
	}
	for i, c := range cmds {
		if c == nil {
			continue
		}
		if n, _ := c.Int(); n != 1 {
			errs[i] = fmt.Errorf("redis: renewing lease %q token %d: %w", ls[i].Name, ls[i].Token, store.ErrLeaseLost)
			continue
		}
		out[i].Expires = start.Add(ttl)
	}
	return out, errs, nil
}
