package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/store"
)

// deleteRoomScript drops the room record and its affiliation hash in one
// step, so no reader sees affiliations of a deleted room.
var deleteRoomScript = goredis.NewScript(`
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1`)

// PutRoom creates or replaces a room record.
func (s *Store) PutRoom(ctx context.Context, r store.Room) error {
	if r.Name == "" {
		return errors.New("redis: room needs a name, got an empty one")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("redis: encoding room %q: %w", r.Name, err)
	}
	err = s.write(ctx, s.k.rooms(), func(c goredis.Cmdable) goredis.Cmder {
		return c.HSet(ctx, s.k.rooms(), r.Name, b)
	})
	if err != nil {
		return fmt.Errorf("redis: storing room %q: %w", r.Name, err)
	}
	return nil
}

// GetRoom returns the room or an error wrapping store.ErrNotFound.
func (s *Store) GetRoom(ctx context.Context, name string) (store.Room, error) {
	var r store.Room
	b, err := s.rdb.HGet(ctx, s.k.rooms(), name).Bytes()
	if errors.Is(err, goredis.Nil) {
		return r, fmt.Errorf("redis: room %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("redis: reading room %q: %w", name, err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("redis: decoding room %q: %w", name, err)
	}
	return r, nil
}

// DeleteRoom removes the room and its affiliations; an absent room is fine.
func (s *Store) DeleteRoom(ctx context.Context, name string) error {
	err := s.write(ctx, s.k.rooms(), func(c goredis.Cmdable) goredis.Cmder {
		return runScript(ctx, c, deleteRoomScript, []string{s.k.rooms(), s.k.affs(name)}, name)
	})
	if err != nil {
		return fmt.Errorf("redis: deleting room %q: %w", name, err)
	}
	return nil
}

// ListRooms returns every room, ordered by name.
func (s *Store) ListRooms(ctx context.Context) ([]store.Room, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.rooms()).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: listing rooms: %w", err)
	}
	rooms := make([]store.Room, 0, len(m))
	for name, v := range m {
		var r store.Room
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("redis: decoding room %q: %w", name, err)
		}
		rooms = append(rooms, r)
	}
	sort.Slice(rooms, func(i, j int) bool { return rooms[i].Name < rooms[j].Name })
	return rooms, nil
}

// SetAffiliation records e for room; AffiliationNone removes it.
func (s *Store) SetAffiliation(ctx context.Context, room string, e store.AffiliationEntry) error {
	if err := store.CheckAffiliation(room, e); err != nil {
		return err
	}
	key := s.k.affs(room)
	var err error
	if e.Affiliation == store.AffiliationNone {
		err = s.write(ctx, key, func(c goredis.Cmdable) goredis.Cmder {
			return c.HDel(ctx, key, e.JID)
		})
	} else {
		b, merr := json.Marshal(e)
		if merr != nil {
			return fmt.Errorf("redis: encoding affiliation of %s: %w", e.JID, merr)
		}
		err = s.write(ctx, key, func(c goredis.Cmdable) goredis.Cmder {
			return c.HSet(ctx, key, e.JID, b)
		})
	}
	if err != nil {
		return fmt.Errorf("redis: storing affiliation of %s in room %q: %w", e.JID, room, err)
	}
	return nil
}

// Affiliations returns the room's entries ordered by JID.
func (s *Store) Affiliations(ctx context.Context, room string) ([]store.AffiliationEntry, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.affs(room)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: reading affiliations of room %q: %w", room, err)
	}
	out := make([]store.AffiliationEntry, 0, len(m))
	for jid, v := range m {
		var e store.AffiliationEntry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("redis: decoding affiliation %q in room %q: %w", jid, room, err)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out, nil
}
