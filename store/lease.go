package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Leases are how many nodes agree on a single holder of something: the owner
// of a room (whose node mixes its audio) and the holder of the XMPP component
// link (a server accepts one connection per component domain). A lease lapses
// unless renewed within its TTL, so a dead holder is replaced without anyone
// having to notice the death.
//
// Every grant carries a fencing token that is strictly greater than any token
// granted before for the same name, so a paused holder that wakes up after
// its lease was taken over can be told apart from the new one: writes that
// matter carry the token and the receiver refuses an older one.
type Leases interface {
	// AcquireLease takes name for holder for ttl if nobody holds it (or the
	// last lease lapsed). A live lease, even one held by the same holder
	// name, gives an error wrapping ErrLeaseHeld: a restarted node cannot
	// prove it is the old holder, so it waits for the lapse like anyone else.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// RenewLease extends l by ttl from now if l is still the current grant;
	// otherwise it fails with ErrLeaseLost and the caller must stop acting
	// as holder at once.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// ReleaseLease gives l up early so a successor need not wait for the
	// TTL. Releasing a grant that is no longer current is ErrLeaseLost and
	// changes nothing.
	ReleaseLease(ctx context.Context, l Lease) error
	// LeaseHolder returns the current grant of name (the holder and token;
	// Expires is the backend's estimate) or an error wrapping ErrNotFound
	// when nobody holds it: this is how a node finds a room's owner.
	LeaseHolder(ctx context.Context, name string) (Lease, error)
}

// Lease is one grant.
type Lease struct {
	// Name is what is leased, for example "room:standup" or "component".
	Name string `json:"name"`
	// Holder names the holder, normally the node ID.
	Holder string `json:"holder"`
	// Token is the fencing token: strictly increasing per Name across
	// grants, never reused.
	Token uint64 `json:"token"`
	// Expires is when the grant lapses unless renewed, as measured by the
	// caller's clock when the request was sent (so an early estimate).
	Expires time.Time `json:"expires"`
}

// ErrLeaseHeld says that someone else holds the lease right now.
var ErrLeaseHeld = errors.New("store: lease held by another holder")

// ErrLeaseLost says that the grant is no longer current: it lapsed, was
// released or was taken over.
var ErrLeaseLost = errors.New("store: lease no longer held")

// CheckLeaseRequest validates the arguments every backend refuses alike.
func CheckLeaseRequest(name, holder string, ttl time.Duration) error {
	if name == "" {
		return errors.New("store: lease needs a name, got an empty one")
	}
	if holder == "" {
		return fmt.Errorf("store: lease %q needs a holder, got an empty one", name)
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("store: lease %q needs a TTL of at least 1ms, got %v", name, ttl)
	}
	return nil
}

// RoomLeaseName is the lease name of a room's ownership.
func RoomLeaseName(room string) string { return "room:" + room }

// ComponentLeaseName is the lease name of the XMPP component link of domain.
func ComponentLeaseName(domain string) string { return "component:" + domain }

// LeaseBatch is what a node owning many rooms uses to renew them all in one
// round trip (a pipeline on Redis, one transaction in the file) instead of
// one per room. Both backends implement it; errs[i] is nil or wraps
// ErrLeaseLost for ls[i], and out[i] is the renewed grant.
type LeaseBatch interface {
	RenewLeases(ctx context.Context, ls []Lease, ttl time.Duration) (out []Lease, errs []error, err error)
}
