package sync

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	gosync "sync"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/sync/cluster"
)

// Ownership says which node mixes each room: *cluster.Cluster satisfies it.
type Ownership interface {
	// Route says whether a new call for room is taken here, sent to the
	// owner, or refused for now; it places an unowned room.
	Route(ctx context.Context, room string) cluster.Route
	// NodeID names this node.
	NodeID() string
}

// ClusterConfig joins this node's sync to the other nodes sharing the
// store. The zero value runs the node alone, as with the embedded store.
type ClusterConfig struct {
	// Ownership routes calls to their room's owner. Setting it turns the
	// cluster mode on; then every field below is required.
	Ownership Ownership
	// Bus carries chat calls to the link holder and chat events to room
	// owners.
	Bus store.Bus
	// Leases finds the holder of the component link and the owner of a
	// room.
	Leases store.Leases
	// Affiliations answers for bans while no node holds the link.
	Affiliations store.Affiliations
	// Proxy forwards calls for rooms owned elsewhere to their owner
	// instead of redirecting the phone there (302), for phones and trunks
	// that do not follow redirects.
	Proxy bool
}

func (c ClusterConfig) enabled() bool { return c.Ownership != nil }

func (c ClusterConfig) check() error {
	if !c.enabled() {
		return nil
	}
	if c.Bus == nil || c.Leases == nil || c.Affiliations == nil {
		return errors.New("sync: Cluster.Ownership needs Cluster.Bus, Cluster.Leases and Cluster.Affiliations")
	}
	return nil
}

// pollEvery is how often a node looks for the link holder, and how soon a
// node that lost the link stops serving chat calls.
const pollEvery = 500 * time.Millisecond

// ownerCacheTTL bounds how long a room's owner is remembered when routing
// chat events to it; only a found owner is remembered, so the first events
// after a room is placed are never held back.
const ownerCacheTTL = time.Second

// nodes is the cross-node half of sync: routing chat events to the rooms'
// owners and answering the link holder's replies.
type nodes struct {
	cfg  ClusterConfig
	chat *clusterChat
	self string
	log  *slog.Logger

	mu     gosync.Mutex
	owners map[string]cachedOwner
}

type cachedOwner struct {
	node string
	at   time.Time
}

func newNodes(cfg ClusterConfig, local Chat, vcards VCards, domain string, log *slog.Logger) *nodes {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	self := cfg.Ownership.NodeID()
	return &nodes{
		cfg: cfg, self: self, log: log, owners: map[string]cachedOwner{},
		chat: &clusterChat{
			local: local, vcards: vcards, bus: cfg.Bus, leases: cfg.Leases, affs: cfg.Affiliations,
			domain: domain, node: self, log: log, waiting: map[string]chan chatReply{},
		},
	}
}

// serve runs the node's inbox, the chat-call service (while this node
// holds the link) and the holder watch until ctx ends.
func (n *nodes) serve(ctx context.Context, s *Sync) {
	var wg gosync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); n.chat.watchHolder(ctx, pollEvery) }()
	go func() { defer wg.Done(); n.chat.serveCalls(ctx, pollEvery) }()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			err := n.cfg.Bus.Subscribe(ctx, store.NodeTopic(n.self), "inbox", func(ctx context.Context, e store.Event) error {
				return n.inbox(e, s)
			})
			if err != nil && ctx.Err() == nil {
				n.log.Warn("reading this node's inbox; retrying", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	wg.Wait()
}

// inbox takes one event sent to this node.
func (n *nodes) inbox(e store.Event, s *Sync) error {
	switch e.Type {
	case evChatReply:
		var r chatReply
		if err := json.Unmarshal(e.Data, &r); err != nil {
			n.log.Warn("dropping a malformed chat reply", "from", e.Origin, "err", err)
			return nil
		}
		n.chat.answered(r)
	case evDialOut:
		n.dialOutHere(e, s)
	case evLegsRequest:
		n.answerLegs(e, s)
	case evChatEvent:
		var ev muc.Event
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			n.log.Warn("dropping a malformed chat event", "from", e.Origin, "err", err)
			return nil
		}
		at := ev.At
		if at.IsZero() {
			at = time.Now()
		}
		s.do(func(ctx context.Context) { s.onChat(ctx, ev, at) })
	default:
		n.log.Debug("ignoring an inbox event of unknown type", "type", e.Type, "from", e.Origin)
	}
	return nil
}

// forward sends a chat event to the node that owns its room, and reports
// whether it did; events of rooms owned here or by nobody stay here.
func (n *nodes) forward(ctx context.Context, ev muc.Event) bool {
	owner := n.owner(ctx, ev.Room)
	if owner == "" || owner == n.self {
		return false
	}
	return n.sendEvent(ctx, owner, ev)
}

func (n *nodes) sendEvent(ctx context.Context, node string, ev muc.Event) bool {
	data, err := json.Marshal(ev)
	if err != nil {
		n.log.Error("encoding a chat event", "err", err)
		return false
	}
	if _, err := n.cfg.Bus.Publish(ctx, store.NodeTopic(node), store.Event{Type: evChatEvent, Data: data, Origin: n.self}); err != nil {
		n.log.Warn("sending a chat event to its room's owner; applying it here", "room", ev.Room, "owner", node, "err", err)
		return false
	}
	return true
}

// owner finds which node owns room ("" for none or unknown).
func (n *nodes) owner(ctx context.Context, room string) string {
	n.mu.Lock()
	c, ok := n.owners[room]
	n.mu.Unlock()
	if ok && time.Since(c.at) < ownerCacheTTL {
		return c.node
	}
	lctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	l, err := n.cfg.Leases.LeaseHolder(lctx, store.RoomLeaseName(room))
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		delete(n.owners, room)
		if !errors.Is(err, store.ErrNotFound) {
			n.log.Warn("finding a room's owner; handling its chat event here", "room", room, "err", err)
		}
		return ""
	}
	if len(n.owners) > 10000 {
		clear(n.owners)
	}
	n.owners[room] = cachedOwner{node: l.Holder, at: time.Now()}
	return l.Holder
}

// RouteCall is admission's first step among many nodes: a call for a room
// owned elsewhere is redirected there (302) or, with proxy, forwarded to it;
// one nobody can take now is refused with Retry-After (503). here is true
// when the call is for this node. Sync's Admit does it itself; a node
// without the chat face calls it.
func RouteCall(ctx context.Context, own Ownership, call focus.CallFacts, proxy bool) (adm focus.Admission, here bool) {
	if call.DialOut {
		return focus.Admission{}, true // the room is here: it dials from here
	}
	r := own.Route(ctx, call.Room)
	switch {
	case r.Here:
		return focus.Admission{}, true
	case call.Proxied:
		// Another node forwarded it here as the owner and the two briefly
		// disagree: sending it on could loop, so the phone tries again.
		return focus.Admission{Verdict: focus.NodeFull, RetryAfter: time.Second, Reason: "Service Unavailable (room owner changing)"}, false
	case r.RetryAfter > 0:
		return focus.Admission{Verdict: focus.NodeFull, RetryAfter: r.RetryAfter, Reason: "Service Unavailable (" + r.Why + ")"}, false
	}
	contact := r.Owner.SIPURI
	if call.Secure {
		// A caller that came over TLS goes on over TLS, or not at all.
		if r.Owner.SIPSURI == "" {
			return focus.Admission{Verdict: focus.NodeFull, Reason: "Service Unavailable (the room's node has no TLS listener)"}, false
		}
		contact = r.Owner.SIPSURI
	}
	if proxy {
		return focus.Admission{Verdict: focus.Proxy, Contact: contact}, false
	}
	return focus.Admission{Verdict: focus.Moved, Contact: contact}, false
}
