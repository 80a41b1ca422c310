package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"cusax.dev/bridge/store"
)

// Leases on one node: the file serialises every grant (bbolt has one writer
// at a time), expiry is measured with this machine's wall clock, and the
// fencing counter lives in the file so tokens keep increasing across
// restarts. Buckets: leases/<name> = JSON leaseRecord, lease-tokens/<name> =
// big-endian uint64 of the last token granted.
var (
	bucketLeases      = []byte("leases")
	bucketLeaseTokens = []byte("lease-tokens")
)

var _ store.Leases = (*Store)(nil)

type leaseRecord struct {
	Holder  string `json:"holder"`
	Token   uint64 `json:"token"`
	Expires int64  `json:"expires"` // Unix nanoseconds
}

func (s *Store) leaseBuckets(tx *bbolt.Tx) (leases, tokens *bbolt.Bucket, err error) {
	if leases, err = tx.CreateBucketIfNotExists(bucketLeases); err != nil {
		return nil, nil, err
	}
	if tokens, err = tx.CreateBucketIfNotExists(bucketLeaseTokens); err != nil {
		return nil, nil, err
	}
	return leases, tokens, nil
}

// current returns the live grant of name in b, or ok false.
func current(b *bbolt.Bucket, name string, now time.Time) (rec leaseRecord, ok bool, err error) {
	if b == nil {
		return rec, false, nil
	}
	v := b.Get([]byte(name))
	if v == nil {
		return rec, false, nil
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, false, fmt.Errorf("bolt: decoding lease %q: %w", name, err)
	}
	return rec, now.UnixNano() < rec.Expires, nil
}

// AcquireLease implements store.Leases.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if err := ctx.Err(); err != nil {
		return store.Lease{}, err
	}
	if err := store.CheckLeaseRequest(name, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	var l store.Lease
	err := s.db.Update(func(tx *bbolt.Tx) error {
		leases, tokens, err := s.leaseBuckets(tx)
		if err != nil {
			return err
		}
		now := time.Now()
		cur, live, err := current(leases, name, now)
		if err != nil {
			return err
		}
		if live {
			return fmt.Errorf("bolt: lease %q is held by %q (token %d): %w", name, cur.Holder, cur.Token, store.ErrLeaseHeld)
		}
		var tok uint64
		if v := tokens.Get([]byte(name)); len(v) == 8 {
			tok = binary.BigEndian.Uint64(v)
		}
		tok++
		if err := tokens.Put([]byte(name), binary.BigEndian.AppendUint64(nil, tok)); err != nil {
			return err
		}
		l = store.Lease{Name: name, Holder: holder, Token: tok, Expires: now.Add(ttl)}
		return putLease(leases, l)
	})
	return l, err
}

func putLease(b *bbolt.Bucket, l store.Lease) error {
	v, err := json.Marshal(leaseRecord{Holder: l.Holder, Token: l.Token, Expires: l.Expires.UnixNano()})
	if err != nil {
		return err
	}
	return b.Put([]byte(l.Name), v)
}

// RenewLease implements store.Leases.
func (s *Store) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if err := ctx.Err(); err != nil {
		return l, err
	}
	if err := store.CheckLeaseRequest(l.Name, l.Holder, ttl); err != nil {
		return l, err
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		leases, _, err := s.leaseBuckets(tx)
		if err != nil {
			return err
		}
		now := time.Now()
		cur, live, err := current(leases, l.Name, now)
		if err != nil {
			return err
		}
		if !live || cur.Token != l.Token || cur.Holder != l.Holder {
			return fmt.Errorf("bolt: renewing lease %q token %d: %w", l.Name, l.Token, store.ErrLeaseLost)
		}
		l.Expires = now.Add(ttl)
		return putLease(leases, l)
	})
	return l, err
}

// ReleaseLease implements store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		leases, _, err := s.leaseBuckets(tx)
		if err != nil {
			return err
		}
		cur, live, err := current(leases, l.Name, time.Now())
		if err != nil {
			return err
		}
		if !live || cur.Token != l.Token || cur.Holder != l.Holder {
			return fmt.Errorf("bolt: releasing lease %q token %d: %w", l.Name, l.Token, store.ErrLeaseLost)
		}
		return leases.Delete([]byte(l.Name))
	})
}

// LeaseHolder implements store.Leases.
func (s *Store) LeaseHolder(ctx context.Context, name string) (store.Lease, error) {
	if err := ctx.Err(); err != nil {
		return store.Lease{}, err
	}
	var l store.Lease
	err := s.db.View(func(tx *bbolt.Tx) error {
		cur, live, err := current(tx.Bucket(bucketLeases), name, time.Now())
		if err != nil {
			return err
		}
		if !live {
			return fmt.Errorf("bolt: lease %q: %w", name, store.ErrNotFound)
		}
		l = store.Lease{Name: name, Holder: cur.Holder, Token: cur.Token, Expires: time.Unix(0, cur.Expires)}
		return nil
	})
	return l, err
}

var _ store.LeaseBatch = (*Store)(nil)

// RenewLeases implements store.LeaseBatch in one transaction (one fsync).
func (s *Store) RenewLeases(ctx context.Context, ls []store.Lease, ttl time.Duration) ([]store.Lease, []error, error) {
	out := make([]store.Lease, len(ls))
	errs := make([]error, len(ls))
	copy(out, ls)
	if err := ctx.Err(); err != nil {
		return out, errs, err
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		leases, _, err := s.leaseBuckets(tx)
		if err != nil {
			return err
		}
		now := time.Now()
		for i, l := range ls {
			if err := store.CheckLeaseRequest(l.Name, l.Holder, ttl); err != nil {
				errs[i] = err
				continue
			}
			cur, live, err := current(leases, l.Name, now)
			if err != nil {
				return err
			}
			if !live || cur.Token != l.Token || cur.Holder != l.Holder {
				errs[i] = fmt.Errorf("bolt: renewing lease %q token %d: %w", l.Name, l.Token, store.ErrLeaseLost)
				continue
			}
			out[i].Expires = now.Add(ttl)
			if err := putLease(leases, out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, errs, err
}
