package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/store"
)

// Join tokens of a room share the hash tag {tokens:<room>}, so one script
// changes a room's keys atomically, also in Cluster mode:
//
//	<p>:{tokens:<room>}:t:<token>  JSON store.JoinToken, PX until Expires
//	<p>:{tokens:<room>}:o:<jid>    the occupant's token, same PX
//	<p>:{tokens:<room>}:all        sorted set of JIDs scored by expiry
//	                               (server ms), for DeleteRoomTokens
//
// The token and occupant keys expire by themselves; the set is swept of
// expired members on each put and itself expires after its longest member.
func (k keys) tokenPrefix(room string) string { return k.p + ":{tokens:" + room + "}:t:" }
func (k keys) tokenOccPrefix(room string) string {
	return k.p + ":{tokens:" + room + "}:o:"
}
func (k keys) tokenRoom(room string) string { return k.p + ":{tokens:" + room + "}:all" }

var _ store.Tokens = (*Store)(nil)

// putTokenScript: KEYS = token key, occupant key, room set; ARGV = JSON,
// token, TTL in ms, JID, token key prefix.
var putTokenScript = goredis.NewScript(`
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ms)
local old = redis.call('GET', KEYS[2])
if old and old ~= ARGV[2] then redis.call('DEL', ARGV[5] .. old) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[3], ms + ttl, ARGV[4])
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
return 1`)

// occupantTokenScript: KEYS = occupant key; ARGV = token key prefix.
var occupantTokenScript = goredis.NewScript(`
local tok = redis.call('GET', KEYS[1])
if not tok then return false end
return redis.call('GET', ARGV[1] .. tok)`)

// deleteRoomTokensScript: KEYS = room set; ARGV = token and occupant key
// prefixes.
var deleteRoomTokensScript = goredis.NewScript(`
for _, jid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local tok = redis.call('GET', ARGV[2] .. jid)
  if tok then redis.call('DEL', ARGV[1] .. tok) end
  redis.call('DEL', ARGV[2] .. jid)
end
redis.call('DEL', KEYS[1])
return 1`)

// PutToken implements store.Tokens. The TTL is what remains until
// t.Expires by this node's clock, counted from then on by the server's.
func (s *Store) PutToken(ctx context.Context, t store.JoinToken) error {
	now := time.Now()
	if err := store.CheckJoinToken(t, now); err != nil {
		return err
	}
	ms := max(t.Expires.Sub(now).Milliseconds(), 1)
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("redis: encoding join token of %s in room %q: %w", t.JID, t.Room, err)
	}
	tk := s.k.tokenPrefix(t.Room) + t.Token
	err = s.write(ctx, tk, func(c goredis.Cmdable) goredis.Cmder {
		return runScript(ctx, c, putTokenScript,
			[]string{tk, s.k.tokenOccPrefix(t.Room) + t.JID, s.k.tokenRoom(t.Room)},
			b, t.Token, ms, t.JID, s.k.tokenPrefix(t.Room))
	})
	if err != nil {
		return fmt.Errorf("redis: storing join token of %s in room %q: %w", t.JID, t.Room, err)
	}
	return nil
}

// Token implements store.Tokens.
func (s *Store) Token(ctx context.Context, room, token string) (store.JoinToken, error) {
	if room == "" || token == "" {
		return store.JoinToken{}, fmt.Errorf("redis: join token %q in room %q: %w", token, room, store.ErrNotFound)
	}
	b, err := s.rdb.Get(ctx, s.k.tokenPrefix(room)+token).Bytes()
	return decodeToken(room, b, err)
}

// OccupantToken implements store.Tokens.
func (s *Store) OccupantToken(ctx context.Context, room, jid string) (store.JoinToken, error) {
	if room == "" || jid == "" {
		return store.JoinToken{}, fmt.Errorf("redis: join token of %q in room %q: %w", jid, room, store.ErrNotFound)
	}
	b, err := occupantTokenScript.Run(ctx, s.rdb, []string{s.k.tokenOccPrefix(room) + jid}, s.k.tokenPrefix(room)).Text()
	return decodeToken(room, []byte(b), err)
}

func decodeToken(room string, b []byte, err error) (store.JoinToken, error) {
	var t store.JoinToken
	if errors.Is(err, goredis.Nil) {
		return t, fmt.Errorf("redis: join token in room %q: %w", room, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("redis: reading a join token of room %q: %w", room, err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("redis: decoding a join token of room %q: %w", room, err)
	}
	return t, nil
}

// DeleteRoomTokens implements store.Tokens.
func (s *Store) DeleteRoomTokens(ctx context.Context, room string) error {
	if room == "" {
		return nil
	}
	all := s.k.tokenRoom(room)
	err := s.write(ctx, all, func(c goredis.Cmdable) goredis.Cmder {
		return runScript(ctx, c, deleteRoomTokensScript, []string{all}, s.k.tokenPrefix(room), s.k.tokenOccPrefix(room))
	})
	if err != nil {
		return fmt.Errorf("redis: deleting the join tokens of room %q: %w", room, err)
	}
	return nil
}
