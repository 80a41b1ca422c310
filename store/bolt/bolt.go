// Package bolt is the embedded, file-backed store backend: one bbolt
// (go.etcd.io/bbolt) file in the bridge's data directory. It is the default
// for a single node. bbolt fsyncs every read-write transaction on commit, so a
// write this package acknowledges survives a crash of the process.
package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"cusax.dev/bridge/store"
)

// Bucket layout: rooms/<name> = JSON store.Room; affiliations/<room>/<jid> =
// JSON store.AffiliationEntry. Affiliations sit in a nested bucket per room
// so that deleting a room drops them in the same transaction.
var (
	bucketRooms = []byte("rooms")
	bucketAffs  = []byte("affiliations")
)

// Config says where the file lives and how long to wait for its lock (a
// second bridge on the same file waits, then fails, instead of corrupting it).
type Config struct {
	// Path of the database file, created if absent.
	Path string
	// LockTimeout bounds the wait for the file lock; 0 means 5 s.
	LockTimeout time.Duration
}

// Store is a bbolt-backed store.Store.
type Store struct {
	db *bbolt.DB
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database file at cfg.Path.
func Open(cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("bolt: Config.Path is required, got an empty path")
	}
	timeout := cfg.LockTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	db, err := bbolt.Open(cfg.Path, 0o600, &bbolt.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("bolt: opening %s: %w", cfg.Path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketRooms, bucketAffs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: creating buckets in %s: %w", cfg.Path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file; calls after Close fail.
func (s *Store) Close() error { return s.db.Close() }

// PutRoom creates or replaces a room record.
func (s *Store) PutRoom(ctx context.Context, r store.Room) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.Name == "" {
		return errors.New("bolt: room needs a name, got an empty one")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("bolt: encoding room %q: %w", r.Name, err)
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRooms).Put([]byte(r.Name), b)
	})
}

// GetRoom returns the room or an error wrapping store.ErrNotFound.
func (s *Store) GetRoom(ctx context.Context, name string) (store.Room, error) {
	var r store.Room
	if err := ctx.Err(); err != nil {
		return r, err
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketRooms).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("bolt: room %q: %w", name, store.ErrNotFound)
		}
		return json.Unmarshal(v, &r)
	})
	return r, err
}

// DeleteRoom removes the room and its affiliations.
func (s *Store) DeleteRoom(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketRooms).Delete([]byte(name)); err != nil {
			return err
		}
		affs := tx.Bucket(bucketAffs)
		if affs.Bucket([]byte(name)) != nil {
			return affs.DeleteBucket([]byte(name))
		}
		return nil
	})
}

// ListRooms returns every room, ordered by name.
func (s *Store) ListRooms(ctx context.Context) ([]store.Room, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rooms []store.Room
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRooms).ForEach(func(k, v []byte) error {
			var r store.Room
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: decoding room %q: %w", k, err)
			}
			rooms = append(rooms, r)
			return nil
		})
	})
	return rooms, err
}

// SetAffiliation records e for room; AffiliationNone removes it.
func (s *Store) SetAffiliation(ctx context.Context, room string, e store.AffiliationEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckAffiliation(room, e); err != nil {
		return err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("bolt: encoding affiliation of %s: %w", e.JID, err)
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		affs := tx.Bucket(bucketAffs)
		if e.Affiliation == store.AffiliationNone {
			rb := affs.Bucket([]byte(room))
			if rb == nil {
				return nil
			}
			return rb.Delete([]byte(e.JID))
		}
		rb, err := affs.CreateBucketIfNotExists([]byte(room))
		if err != nil {
			return err
		}
		return rb.Put([]byte(e.JID), b)
	})
}

// Affiliations returns the room's entries ordered by JID.
func (s *Store) Affiliations(ctx context.Context, room string) ([]store.AffiliationEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []store.AffiliationEntry
	err := s.db.View(func(tx *bbolt.Tx) error {
		rb := tx.Bucket(bucketAffs).Bucket([]byte(room))
		if rb == nil {
			return nil
		}
		return rb.ForEach(func(k, v []byte) error {
			var e store.AffiliationEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("bolt: decoding affiliation %q in room %q: %w", k, room, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}
