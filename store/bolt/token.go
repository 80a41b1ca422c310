package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"cusax.dev/bridge/store"
)

// Join tokens sit in a nested bucket per room, so destroying a room drops
// them in one step: tokens/<room>/"t:"<token> = JSON store.JoinToken and
// tokens/<room>/"o:"<jid> = the occupant's token. Expiry is by this
// machine's wall clock; a put sweeps the room's expired entries, so a
// room's bucket holds at most about one entry per person who was ever in it
// within a TTL.
var bucketTokens = []byte("tokens")

var _ store.Tokens = (*Store)(nil)

func tokenKey(tok string) []byte { return []byte("t:" + tok) }
func occKey(jid string) []byte   { return []byte("o:" + jid) }

// PutToken implements store.Tokens.
func (s *Store) PutToken(ctx context.Context, t store.JoinToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	if err := store.CheckJoinToken(t, now); err != nil {
		return err
	}
	v, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("bolt: encoding join token of %s in room %q: %w", t.JID, t.Room, err)
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		all, err := tx.CreateBucketIfNotExists(bucketTokens)
		if err != nil {
			return err
		}
		rb, err := all.CreateBucketIfNotExists([]byte(t.Room))
		if err != nil {
			return err
		}
		if err := sweepTokens(rb, now); err != nil {
			return err
		}
		if old := rb.Get(occKey(t.JID)); old != nil && string(old) != t.Token {
			if err := rb.Delete(tokenKey(string(old))); err != nil {
				return err
			}
		}
		if err := rb.Put(tokenKey(t.Token), v); err != nil {
			return err
		}
		return rb.Put(occKey(t.JID), []byte(t.Token))
	})
}

// sweepTokens deletes the room's expired tokens and their occupant entries.
func sweepTokens(rb *bbolt.Bucket, now time.Time) error {
	var dead []store.JoinToken
	c := rb.Cursor()
	for k, v := c.Seek([]byte("t:")); k != nil && bytes.HasPrefix(k, []byte("t:")); k, v = c.Next() {
		var t store.JoinToken
		if err := json.Unmarshal(v, &t); err != nil || !t.Expires.After(now) {
			t.Token = string(k[2:])
			dead = append(dead, t)
		}
	}
	for _, t := range dead {
		if err := rb.Delete(tokenKey(t.Token)); err != nil {
			return err
		}
		if t.JID != "" && string(rb.Get(occKey(t.JID))) == t.Token {
			if err := rb.Delete(occKey(t.JID)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Token implements store.Tokens.
func (s *Store) Token(ctx context.Context, room, token string) (store.JoinToken, error) {
	var t store.JoinToken
	if err := ctx.Err(); err != nil {
		return t, err
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		t, err = liveToken(tx, room, token)
		return err
	})
	return t, err
}

// OccupantToken implements store.Tokens.
func (s *Store) OccupantToken(ctx context.Context, room, jid string) (store.JoinToken, error) {
	var t store.JoinToken
	if err := ctx.Err(); err != nil {
		return t, err
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		var tok []byte
		if rb := roomTokens(tx, room); rb != nil {
			tok = rb.Get(occKey(jid))
		}
		if tok == nil {
			return fmt.Errorf("bolt: join token of %s in room %q: %w", jid, room, store.ErrNotFound)
		}
		var err error
		t, err = liveToken(tx, room, string(tok))
		return err
	})
	return t, err
}

func roomTokens(tx *bbolt.Tx, room string) *bbolt.Bucket {
	all := tx.Bucket(bucketTokens)
	if all == nil || room == "" {
		return nil
	}
	return all.Bucket([]byte(room))
}

func liveToken(tx *bbolt.Tx, room, token string) (store.JoinToken, error) {
	var t store.JoinToken
	var v []byte
	if rb := roomTokens(tx, room); rb != nil && token != "" {
		v = rb.Get(tokenKey(token))
	}
	if v == nil {
		return t, fmt.Errorf("bolt: join token in room %q: %w", room, store.ErrNotFound)
	}
	if err := json.Unmarshal(v, &t); err != nil {
		return t, fmt.Errorf("bolt: decoding a join token of room %q: %w", room, err)
	}
	if !t.Expires.After(time.Now()) {
		return store.JoinToken{}, fmt.Errorf("bolt: join token in room %q expired at %v: %w", room, t.Expires, store.ErrNotFound)
	}
	return t, nil
}

// DeleteRoomTokens implements store.Tokens.
func (s *Store) DeleteRoomTokens(ctx context.Context, room string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketTokens)
		if all == nil || room == "" || all.Bucket([]byte(room)) == nil {
			return nil
		}
		return all.DeleteBucket([]byte(room))
	})
}
