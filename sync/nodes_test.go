package sync

import (
	"context"
	"testing"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt"
	"cusax.dev/bridge/store/bolt/bolttest"
	"cusax.dev/bridge/sync/cluster"
)

// twoNodes runs two syncs sharing one store and bus, as two bridge nodes
// sharing Redis do: "link" holds the component link (its chat face is
// ready) and "owner" stands by. Only "owner" runs its cluster's Serve (the
// link node is not in the registry), so rooms that "owner" routes first are
// placed on it.
func twoNodes(t *testing.T) (link, owner *harness, st *bolt.Store) {
	t.Helper()
	st = bolttest.Open(t)
	bus := bolt.NewBus(0)
	t.Cleanup(func() { bus.Close() })
	const domain = "conference.example.test"
	if _, err := st.AcquireLease(context.Background(), store.ComponentLeaseName(domain), "link", time.Minute); err != nil {
		t.Fatal(err)
	}
	node := func(id string, serve bool) *harness {
		cl, err := cluster.New(cluster.Config{Store: st, NodeID: id, SIPURI: "sip:" + id + ".example.test:5060", LeaseTTL: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if serve {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- cl.Serve(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
		}
		return newHarness(t, func(c *Config) {
			c.Cluster = ClusterConfig{Ownership: cl, Bus: bus, Leases: st, Affiliations: st}
		})
	}
	owner = node("owner", true)
	waitUntil(t, "the owner's first heartbeat", func() bool {
		nodes, err := st.ListNodes(context.Background())
		return err == nil && len(nodes) == 1 && nodes[0].ID == "owner"
	})
	owner.chat.mu.Lock()
	owner.chat.ready = false // standing by for the link
	owner.chat.mu.Unlock()
	link = node("link", false)
	return link, owner, st
}

// TestModerationReachesTheRoomsOwner: a phone's occupant shows in the chat
// room held by the link node, and a voice revoke given there mutes the leg
// on the owner node.
func TestModerationReachesTheRoomsOwner(t *testing.T) {
	link, owner, _ := twoNodes(t)
	link.chat.join("standup", "mod", "mod@example.test", muc.RoleModerator)

	call := focus.CallFacts{Room: "standup", CallID: "c1", From: "sip:+15550100@pbx.example.test", DisplayName: "Carol"}
	if adm := owner.call(t, call); adm.Verdict != focus.Accept {
		t.Fatalf("the owner refused a call for a room placed on it: %+v", adm)
	}
	second := focus.CallFacts{Room: "standup", CallID: "c2", From: "sip:dave@pbx.example.test"}
	if adm := link.s.Admit(context.Background(), second); adm.Verdict != focus.Moved || adm.Contact != "sip:owner.example.test:5060" {
		t.Fatalf("the link node did not redirect a call for a room owned elsewhere: %+v", adm)
	}
	waitUntil(t, "the phone's occupant in the link node's room", func() bool {
		_, ok := link.chat.phone("standup", "Carol")
		return ok
	})

	link.s.OnChatEvent(muc.Event{Kind: muc.EventRoleChanged, Room: "standup", Nick: "Carol", AudioOnly: true, Role: muc.RoleVisitor, Actor: "mod"})
	waitUntil(t, "the leg muted on the owner", func() bool { return owner.audio.muted("c1") })
	link.s.OnChatEvent(muc.Event{Kind: muc.EventRoleChanged, Room: "standup", Nick: "Carol", AudioOnly: true, Role: muc.RoleParticipant, Actor: "mod"})
	waitUntil(t, "the leg unmuted on the owner", func() bool { return !owner.audio.muted("c1") })
	if link.audio.muted("c1") || len(link.audio.Legs("")) != 0 {
		t.Fatal("the link node acted on a leg it does not carry")
	}

	link.s.OnChatEvent(muc.Event{Kind: muc.EventKicked, Room: "standup", Nick: "Carol", AudioOnly: true, Status: []int{307}})
	waitUntil(t, "the leg hung up on the owner", func() bool { return owner.audio.wasKicked("c1") })
}

// TestBanHoldsWithoutLinkHolder: while no node holds the component link,
// the owner still refuses a banned person, reading the ban from the store.
func TestBanHoldsWithoutLinkHolder(t *testing.T) {
	link, owner, st := twoNodes(t)
	ctx := context.Background()
	if err := st.SetAffiliation(ctx, "standup", store.AffiliationEntry{JID: "mallory@example.test", Affiliation: store.AffiliationOutcast}); err != nil {
		t.Fatal(err)
	}
	link.chat.mu.Lock()
	link.chat.ready = false // the link is down everywhere
	link.chat.mu.Unlock()
	l, err := st.LeaseHolder(ctx, store.ComponentLeaseName("conference.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the owner to see no link holder", func() bool { return !owner.s.chat.Ready() })
	got, err := owner.s.chat.Affiliation("standup", "Mallory@example.test")
	if err != nil || got != store.AffiliationOutcast {
		t.Fatalf("affiliation without a link holder = %q, %v; want outcast from the store", got, err)
	}
}

// TestReadsAnsweredByTheLinkHolder: the owner reads occupants and a room's
// configuration through the link node.
func TestReadsAnsweredByTheLinkHolder(t *testing.T) {
	link, owner, _ := twoNodes(t)
	link.chat.join("standup", "mod", "mod@example.test", muc.RoleModerator)
	link.chat.mu.Lock()
	link.chat.rooms["standup"].cfg.MembersOnly = true
	link.chat.mu.Unlock()
	waitUntil(t, "the owner to see the link holder", func() bool { return owner.s.chat.Ready() })
	occ, err := owner.s.chat.Occupants("standup")
	if err != nil || len(occ) != 1 || occ[0].Nick != "mod" {
		t.Fatalf("occupants through the link holder = %+v, %v", occ, err)
	}
	info, ok := owner.s.roomInfo("standup")
	if !ok || !info.Config.MembersOnly {
		t.Fatalf("room through the link holder = %+v, %v", info, ok)
	}
	if _, ok := owner.s.roomInfo("nowhere"); ok {
		t.Fatal("a room the link holder does not have was found")
	}
	// Members only: an anonymous caller is refused by the owner.
	if adm := owner.s.Admit(context.Background(), focus.CallFacts{Room: "standup", CallID: "x", From: "sip:anon@pbx.example.test"}); adm.Verdict != focus.Forbidden {
		t.Fatalf("anonymous caller in a members-only room: %+v", adm)
	}
}

// TestPhonesShownAgainAfterLinkTakeover: when another grant of the
// component link starts (a new holder, whose muc knows nothing of this
// node's phones), the owner shows its phones again.
func TestPhonesShownAgainAfterLinkTakeover(t *testing.T) {
	link, owner, st := twoNodes(t)
	ctx := context.Background()
	if adm := owner.call(t, focus.CallFacts{Room: "standup", CallID: "c1", From: "sip:+15550100@pbx.example.test", DisplayName: "Carol"}); adm.Verdict != focus.Accept {
		t.Fatalf("call refused: %+v", adm)
	}
	waitUntil(t, "the phone's occupant", func() bool { _, ok := link.chat.phone("standup", "Carol"); return ok })

	// The holder dies and a successor takes the link with an empty room
	// list, as a new node's muc would.
	link.chat.mu.Lock()
	link.chat.rooms = map[string]*fakeRoom{}
	link.chat.mu.Unlock()
	name := store.ComponentLeaseName("conference.example.test")
	old, err := st.LeaseHolder(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReleaseLease(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcquireLease(ctx, name, "successor", time.Minute); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the phone's occupant shown to the new holder", func() bool { _, ok := link.chat.phone("standup", "Carol"); return ok })
}

// fixedOwner routes every room to one node.
type fixedOwner struct{ r cluster.Route }

func (f fixedOwner) Route(context.Context, string) cluster.Route { return f.r }
func (fixedOwner) NodeID() string                                { return "here" }

// TestRouteCall: redirect or proxy to the owner's address for the caller's
// transport; a caller that came over TLS is never sent to a plain listener;
// a forwarded call is never sent on.
func TestRouteCall(t *testing.T) {
	owner := store.Node{ID: "n2", SIPURI: "sip:10.0.0.8:5060", SIPSURI: "sips:10.0.0.8:5061"}
	plainOnly := store.Node{ID: "n3", SIPURI: "sip:10.0.0.9:5060"}
	for _, c := range []struct {
		name    string
		route   cluster.Route
		call    focus.CallFacts
		proxy   bool
		verdict focus.Verdict
		contact string
	}{
		{"here", cluster.Route{Here: true}, focus.CallFacts{}, false, focus.Accept, ""},
		{"redirect", cluster.Route{Owner: owner}, focus.CallFacts{}, false, focus.Moved, "sip:10.0.0.8:5060"},
		{"proxy", cluster.Route{Owner: owner}, focus.CallFacts{}, true, focus.Proxy, "sip:10.0.0.8:5060"},
		{"tls redirect", cluster.Route{Owner: owner}, focus.CallFacts{Secure: true}, false, focus.Moved, "sips:10.0.0.8:5061"},
		{"tls proxy", cluster.Route{Owner: owner}, focus.CallFacts{Secure: true}, true, focus.Proxy, "sips:10.0.0.8:5061"},
		{"tls to a node without tls", cluster.Route{Owner: plainOnly}, focus.CallFacts{Secure: true}, false, focus.NodeFull, ""},
		{"unavailable", cluster.Route{RetryAfter: 3 * time.Second, Why: "x"}, focus.CallFacts{}, false, focus.NodeFull, ""},
		{"forwarded here, owner elsewhere", cluster.Route{Owner: owner}, focus.CallFacts{Proxied: true}, true, focus.NodeFull, ""},
		{"dial-out", cluster.Route{Owner: owner}, focus.CallFacts{DialOut: true}, false, focus.Accept, ""},
	} {
		adm, here := RouteCall(context.Background(), fixedOwner{c.route}, c.call, c.proxy)
		if adm.Verdict != c.verdict || adm.Contact != c.contact || here != (c.verdict == focus.Accept) {
			t.Errorf("%s: got %+v here=%v, want verdict %d contact %q", c.name, adm, here, c.verdict, c.contact)
		}
	}
}
