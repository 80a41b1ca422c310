package cluster

import (
	"context"
	"errors"
	"time"

	"cusax.dev/bridge/store"
)

// Serve reports this node to the registry and renews the leases of the
// rooms it owns every tick, releasing rooms unused for IdleGrace, until ctx
// ends. It returns nil on a clean stop: a store outage is survived, not
// returned.
func (c *Cluster) Serve(ctx context.Context) error {
	if err := c.heartbeat(ctx); err != nil {
		c.storeFailed(err)
	}
	t := time.NewTicker(c.Tick())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.recovered:
		}
		c.renew(ctx)
		c.releaseIdle(ctx)
		if err := c.heartbeat(ctx); err != nil {
			c.storeFailed(err)
		}
	}
}

// heartbeat writes this node's registry entry, alive for three ticks.
func (c *Cluster) heartbeat(ctx context.Context) error {
	c.hbMu.Lock()
	defer c.hbMu.Unlock()
	if c.stopping() {
		return nil // left the registry for good
	}
	hctx, cancel := context.WithTimeout(ctx, c.Tick())
	defer cancel()
	if err := c.cfg.Store.Heartbeat(hctx, c.self(), 3*c.Tick()); err != nil {
		return err
	}
	c.storeSucceeded()
	return nil
}

// renew extends every owned lease in one round trip. A lease the store no
// longer has (it restarted without it, or it lapsed during an outage) is
// taken again; only one that another node holds by now is given up.
func (c *Cluster) renew(ctx context.Context) {
	if c.stopping() {
		return
	}
	c.mu.Lock()
	batch := make([]store.Lease, 0, len(c.owned))
	for _, l := range c.owned {
		batch = append(batch, l)
	}
	c.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, c.Tick())
	out, errs, err := c.cfg.Store.RenewLeases(rctx, batch, c.cfg.LeaseTTL)
	cancel()
	if err != nil {
		c.storeFailed(err)
		return
	}
	c.storeSucceeded()
	for i, l := range batch {
		room := roomOf(l.Name)
		switch {
		case errs[i] == nil:
			c.replace(room, l, out[i])
		case errors.Is(errs[i], store.ErrLeaseLost):
			c.retake(ctx, room, l)
		default:
			c.log.Warn("renewing a room lease", "room", room, "err", errs[i])
		}
	}
}

// retake asks for a lost grant again: after a store restart the key is
// simply gone and this node is still the room's rightful owner.
func (c *Cluster) retake(ctx context.Context, room string, old store.Lease) {
	actx, cancel := context.WithTimeout(ctx, c.Tick())
	defer cancel()
	l, err := c.cfg.Store.AcquireLease(actx, old.Name, c.cfg.NodeID, c.cfg.LeaseTTL)
	switch {
	case err == nil:
		c.replace(room, old, l)
		c.log.Info("room lease taken again after the store lost it", "room", room, "token", l.Token)
	case errors.Is(err, store.ErrLeaseHeld):
		if cur, herr := c.cfg.Store.LeaseHolder(actx, old.Name); herr == nil && cur.Holder == c.cfg.NodeID {
			c.replace(room, old, cur) // placed here again meanwhile
			return
		}
		c.mu.Lock()
		cur, ok := c.owned[room]
		if ok && cur.Token == old.Token {
			delete(c.owned, room)
			delete(c.idle, room)
		}
		c.mu.Unlock()
		if ok && cur.Token == old.Token {
			c.m.lost.Inc()
			c.log.Warn("room taken over by another node: hanging its calls up here", "room", room)
			go c.cfg.OnLost(room)
		}
	default:
		c.storeFailed(err)
	}
}

// replace swaps old for l unless the room changed hands locally meanwhile.
func (c *Cluster) replace(room string, old, l store.Lease) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.owned[room]; ok && cur.Token == old.Token {
		c.owned[room] = l
	}
}

// releaseIdle gives up rooms nobody has used here for IdleGrace, so the
// next call places them afresh on the least loaded node.
func (c *Cluster) releaseIdle(ctx context.Context) {
	now := time.Now()
	var free []store.Lease
	for _, room := range c.Owned() {
		busy := c.cfg.InUse(room)
		c.mu.Lock()
		l, ok := c.owned[room]
		switch {
		case !ok:
		case busy:
			c.idle[room] = now
		case now.Sub(c.idle[room]) >= c.cfg.IdleGrace:
			delete(c.owned, room)
			delete(c.idle, room)
			free = append(free, l)
		}
		c.mu.Unlock()
	}
	for _, l := range free {
		rctx, cancel := context.WithTimeout(ctx, c.Tick())
		err := c.cfg.Store.ReleaseLease(rctx, l)
		cancel()
		if err != nil && !errors.Is(err, store.ErrLeaseLost) {
			c.log.Warn("releasing an idle room's lease; it will lapse instead", "room", roomOf(l.Name), "err", err)
			continue
		}
		c.log.Info("room released: no calls here", "room", roomOf(l.Name))
	}
}

// Shutdown releases every room lease and leaves the registry, so the
// rooms of a node stopping on purpose can be placed again at once rather
// than after their TTL. Call it once the calls are hung up.
func (c *Cluster) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.stopped = true
	leases := make([]store.Lease, 0, len(c.owned))
	for _, l := range c.owned {
		leases = append(leases, l)
	}
	c.owned, c.idle = map[string]store.Lease{}, map[string]time.Time{}
	c.mu.Unlock()
	var errs []error
	for _, l := range leases {
		if err := c.cfg.Store.ReleaseLease(ctx, l); err != nil && !errors.Is(err, store.ErrLeaseLost) {
			errs = append(errs, err)
		}
	}
	c.hbMu.Lock() // a heartbeat under way lands before the removal
	defer c.hbMu.Unlock()
	if err := c.cfg.Store.RemoveNode(ctx, c.cfg.NodeID); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func roomOf(leaseName string) string {
	return leaseName[len(store.RoomLeaseName("")):]
}
