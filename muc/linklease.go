package muc

import (
	"context"
	"errors"
	"time"

	"cusax.dev/bridge/store"
)

// LinkLeases is what the service needs from the store to share one
// component domain among many nodes: an XMPP server accepts one connection
// per component domain, so the node holding the store lease
// store.ComponentLeaseName(Domain) holds the link and the others stand by,
// taking over when the lease lapses (DESIGN.md, "Many nodes").
type LinkLeases interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error)
	RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, l store.Lease) error
}

// defaultLinkLeaseTTL bounds how long a dead holder keeps the others from
// taking over the link.
const defaultLinkLeaseTTL = 5 * time.Second

// Standby reports whether this node is waiting for another node's link
// lease to lapse: it is healthy, just not the holder.
func (s *Service) Standby() bool { return s.standby.Load() }

// holdLink runs serveLink while this node holds the component-link lease,
// standing by while another node does. Without Config.Leases it simply
// runs serveLink. It returns when ctx ends.
func (s *Service) holdLink(ctx context.Context, serveLink func(context.Context)) {
	if s.cfg.Leases == nil {
		serveLink(ctx)
		return
	}
	name := store.ComponentLeaseName(s.domain)
	ttl := s.cfg.LinkLeaseTTL
	for ctx.Err() == nil {
		lease, err := s.cfg.Leases.AcquireLease(ctx, name, s.cfg.NodeID, ttl)
		if err != nil {
			if !s.standby.Swap(true) || !errors.Is(err, store.ErrLeaseHeld) {
				s.log.Info("standing by: another node holds the component link", "lease", name, "err", err)
			}
			if !sleepCtx(ctx, ttl/3) {
				return
			}
			continue
		}
		s.standby.Store(false)
		s.log.Info("holding the component link lease", "lease", name, "token", lease.Token)
		if err := s.reload(ctx); err != nil {
			// Serving stale rooms would forget bans set meanwhile: give
			// the link up and try again.
			s.log.Error("taking the component link over: cannot read the rooms; releasing the lease", "err", err)
			if err := s.cfg.Leases.ReleaseLease(ctx, lease); err != nil && !errors.Is(err, store.ErrLeaseLost) {
				s.log.Warn("releasing the component link lease", "err", err)
			}
			if !sleepCtx(ctx, ttl/3) {
				return
			}
			continue
		}
		holdCtx, lost := context.WithCancel(ctx)
		renewed := make(chan struct{})
		go func() {
			defer close(renewed)
			s.renewLinkLease(holdCtx, lost, lease, ttl)
		}()
		serveLink(holdCtx)
		lost()
		<-renewed
	}
}

// renewLinkLease renews the lease every third of its TTL until ctx ends,
// then releases it; when a renewal fails the node is no longer the holder
// and lost drops the link at once, before another node connects.
func (s *Service) renewLinkLease(ctx context.Context, lost context.CancelFunc, lease store.Lease, ttl time.Duration) {
	for sleepCtx(ctx, ttl/3) {
		next, err := s.cfg.Leases.RenewLease(ctx, lease, ttl)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.log.Warn("lost the component link lease; dropping the link", "err", err)
			lost()
			return
		}
		lease = next
	}
	releaseCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.cfg.Leases.ReleaseLease(releaseCtx, lease); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		s.log.Warn("releasing the component link lease", "err", err)
	}
}

// sleepCtx waits d or until ctx ends; false means ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
