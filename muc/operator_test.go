package muc

import (
	"context"
	"errors"
	"testing"

	"cusax.dev/bridge/store"
)

// TestOperatorCommands: a ban, a limit and an end taken as the room show
// the occupants what a moderator's would, with no actor.
func TestOperatorCommands(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	h.s.takeOut()
	h.events()

	if err := h.s.SetAffiliation(ctx, "standup", "Bob@Example.test", store.AffiliationOutcast, "spam"); err != nil {
		t.Fatal(err)
	}
	toBob := to(h.s.takeOut(), "bob@example.test/x")
	if len(toBob) != 1 || !hasStatus(toBob[0], "301") || item(toBob[0]).child("", "actor") != nil {
		t.Fatalf("bob got %v, want unavailable 301 without an actor", toBob)
	}
	if a, _ := h.s.Affiliation("standup", "bob@example.test"); a != store.AffiliationOutcast {
		t.Errorf("bob's affiliation = %s, want outcast", a)
	}
	if err := h.s.SetAffiliation(ctx, "standup", "alice@example.test", store.AffiliationNone, ""); err == nil {
		t.Error("the last owner was demoted")
	}
	if err := h.s.SetAffiliation(ctx, "nosuch", "bob@example.test", store.AffiliationOutcast, ""); !errors.Is(err, ErrNoRoom) {
		t.Errorf("ban in an unknown room = %v, want ErrNoRoom", err)
	}

	if err := h.s.SetMaxUsers(ctx, "standup", 1); err != nil {
		t.Fatal(err)
	}
	if toAlice := to(h.s.takeOut(), "alice@example.test/pc"); len(toAlice) != 1 || !hasStatus(toAlice[0], "104") {
		t.Errorf("alice got %v, want the configuration change (104)", toAlice)
	}
	if out := h.join("carol@example.test/x", "carol"); len(out) != 1 || errCond(out[0]) != "service-unavailable" {
		t.Errorf("a join over the limit got %v, want service-unavailable", out)
	}
	if err := h.s.SetMaxUsers(ctx, "standup", -1); err == nil {
		t.Error("a negative limit was taken")
	}

	h.events()
	if err := h.s.DestroyRoom(ctx, "standup", "ended by an operator"); err != nil {
		t.Fatal(err)
	}
	toAlice := to(h.s.takeOut(), "alice@example.test/pc")
	if len(toAlice) != 1 || toAlice[0].child(NSMUCUser, "x").child("", "destroy").child("", "reason").text() != "ended by an operator" {
		t.Errorf("alice got %v, want the destroy with its reason", toAlice)
	}
	if ev := h.events(); len(ev) != 1 || ev[0].Kind != EventRoomDestroyed || ev[0].Actor != "" {
		t.Errorf("events = %+v, want one room-destroyed without an actor", ev)
	}
	if err := h.s.DestroyRoom(ctx, "standup", ""); !errors.Is(err, ErrNoRoom) {
		t.Errorf("ending a gone room = %v, want ErrNoRoom", err)
	}
}

// TestActorJID: a moderator's action names them by nick and by real JID,
// for the audit trail.
func TestActorJID(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	h.events()
	h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='k'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='bob' role='none'/></query></iq>`)
	var kicked *Event
	for _, e := range h.events() {
		if e.Kind == EventKicked {
			kicked = &e
		}
	}
	if kicked == nil || kicked.Actor != "alice" || kicked.ActorJID != "alice@example.test" {
		t.Fatalf("kick event = %+v, want actor alice (alice@example.test)", kicked)
	}
	// Outside stanza handling nobody acts.
	if err := h.s.SetRole(context.Background(), "standup", "alice", RoleModerator, ""); err != nil {
		t.Fatal(err)
	}
	for _, e := range h.events() {
		if e.ActorJID != "" {
			t.Errorf("event %+v of a command has an actor JID", e)
		}
	}
}
