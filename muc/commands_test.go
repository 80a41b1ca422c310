package muc

import (
	"context"
	"errors"
	"testing"
)

func TestAudioOccupantCommands(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.join("alice@example.test/pc", "alice")
	h.events()
	if err := h.s.AddAudioOccupant(ctx, "standup", "Bob (phone)", PhonePresence{Status: "in the call", Muted: true}); err != nil {
		t.Fatal(err)
	}
	out := h.s.takeOut()
	if len(out) != 1 || out[0].attr("from") != testRoom+"/Bob (phone)" {
		t.Fatalf("phone presence = %v", out)
	}
	ph := out[0].child(NSBridge, "phone")
	if ph == nil || ph.attr("muted") != "true" || out[0].child("", "status").text() != "in the call" {
		t.Errorf("phone presence = %s", out[0])
	}
	if err := h.s.AddAudioOccupant(ctx, "standup", "bob (PHONE)", PhonePresence{}); !errors.Is(err, ErrNickInUse) {
		t.Errorf("duplicate phone nick: %v", err)
	}
	if out := h.join("carol@example.test/x", "Bob (phone)"); errCond(out[0]) != "conflict" {
		t.Errorf("chat join onto a phone nick: %v", out)
	}
	if err := h.s.UpdateAudioOccupant(ctx, "standup", "Bob (phone)", PhonePresence{Talking: true}); err != nil {
		t.Fatal(err)
	}
	if out := h.s.takeOut(); len(out) != 1 || out[0].child(NSBridge, "phone").attr("talking") != "true" {
		t.Errorf("update = %v", out)
	}
	if err := h.s.UpdateAudioOccupant(ctx, "standup", "alice", PhonePresence{}); !errors.Is(err, ErrNotAudio) {
		t.Errorf("updating a chat occupant as a phone: %v", err)
	}
	if err := h.s.SetRole(ctx, "standup", "Bob (phone)", RoleVisitor, "muted by the room"); err != nil {
		t.Fatal(err)
	}
	if out := h.s.takeOut(); len(out) != 1 || item(out[0]).attr("role") != "visitor" {
		t.Errorf("role change = %v", out)
	}
	if err := h.s.SendMessage(ctx, "standup", "Bob joined by phone"); err != nil {
		t.Fatal(err)
	}
	if out := h.s.takeOut(); len(out) != 1 || out[0].attr("from") != testRoom || out[0].child("", "body").text() != "Bob joined by phone" {
		t.Errorf("room message = %v", out)
	}
	if err := h.s.SendPrivateMessage(ctx, "standup", "alice", "your PIN is 1234"); err != nil {
		t.Fatal(err)
	}
	if out := h.s.takeOut(); len(out) != 1 || out[0].attr("to") != "alice@example.test/pc" || out[0].attr("type") != "chat" {
		t.Errorf("private message = %v", out)
	}
	// A chat PM to the phone leg becomes an event for sync.
	h.events()
	h.in(`<message from='alice@example.test/pc' to='` + testRoom + `/Bob (phone)' type='chat'><body>can you hear?</body></message>`)
	if ev := h.events(); len(ev) != 1 || ev[0].ToNick != "Bob (phone)" || ev[0].Body != "can you hear?" {
		t.Errorf("pm to phone events = %+v", ev)
	}
	if err := h.s.RemoveAudioOccupant(ctx, "standup", "Bob (phone)", "hung up"); err != nil {
		t.Fatal(err)
	}
	if out := h.s.takeOut(); len(out) != 1 || out[0].attr("type") != "unavailable" {
		t.Errorf("removal = %v", out)
	}
	ev := h.events()
	if len(ev) == 0 || ev[len(ev)-1].Kind != EventLeft || !ev[len(ev)-1].AudioOnly {
		t.Errorf("events = %+v", ev)
	}
	for _, err := range []error{
		h.s.Kick(ctx, "nowhere", "x", ""),
		h.s.SendMessage(ctx, "nowhere", "x"),
	} {
		if !errors.Is(err, ErrNoRoom) {
			t.Errorf("command on an absent room: %v", err)
		}
	}
	if err := h.s.Kick(ctx, "standup", "ghost", ""); !errors.Is(err, ErrNoOccupant) {
		t.Errorf("kick of an absent nick: %v", err)
	}
	if err := h.s.SetRole(ctx, "standup", "alice", "king", ""); !errors.Is(err, ErrBadRole) {
		t.Errorf("bad role: %v", err)
	}
}

// A phone leg keeps a room alive on its own and creates it when needed.
func TestAudioOccupantCreatesRoom(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	if err := h.s.AddAudioOccupant(ctx, "call", "+15550100", PhonePresence{}); err != nil {
		t.Fatal(err)
	}
	if r := h.s.Rooms(); len(r) != 1 || r[0].Occupants != 1 || r[0].AudioVideoURI != "sip:call@sip.example.test" {
		t.Fatalf("rooms = %+v", r)
	}
	out := h.in(`<presence from='alice@example.test/pc' to='call@` + testDomain + `/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	if len(out) != 3 || out[0].attr("from") != "call@"+testDomain+"/+15550100" || out[0].child(NSBridge, "phone") == nil {
		t.Fatalf("joiner did not see the phone leg first: %v", out)
	}
	if it := item(out[1]); it.attr("affiliation") != "owner" || !hasStatus(out[1], "201") {
		t.Errorf("first chat user of a phone-opened room is not its owner: %s", out[1])
	}
	if err := h.s.RemoveAudioOccupant(ctx, "call", "+15550100", ""); err != nil {
		t.Fatal(err)
	}
	h.in(`<presence from='alice@example.test/pc' to='call@` + testDomain + `/alice' type='unavailable'/>`)
	if r := h.s.Rooms(); len(r) != 0 {
		t.Errorf("empty temporary room kept: %+v", r)
	}
}

func TestSetOccupantAudio(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.join("alice@example.test/pc", "alice")
	h.in(`<presence from='alice@example.test/pc' to='` + testRoom + `/alice'><show>away</show><status>lunch</status></presence>`)
	if err := h.s.SetOccupantAudio(ctx, "standup", "alice", &PhonePresence{Muted: true}); err != nil {
		t.Fatal(err)
	}
	out := h.s.takeOut()
	if len(out) != 1 || out[0].child(NSBridge, "phone") == nil || out[0].child(NSBridge, "phone").attr("muted") != "true" {
		t.Fatalf("presence with audio = %v", out)
	}
	if st := out[0].child("", "status"); st == nil || st.text() != "lunch" {
		t.Errorf("the user's own status was lost: %s", out[0])
	}
	// The client's own presence update keeps the audio marker.
	out = h.in(`<presence from='alice@example.test/pc' to='` + testRoom + `/alice'><show>dnd</show></presence>`)
	if len(out) != 1 || out[0].child(NSBridge, "phone") == nil || out[0].child("", "show").text() != "dnd" {
		t.Fatalf("presence after the client's update = %v, want its new show and the phone marker", out)
	}
	if err := h.s.SetOccupantAudio(ctx, "standup", "alice", nil); err != nil {
		t.Fatal(err)
	}
	if out := h.s.takeOut(); len(out) != 1 || out[0].child(NSBridge, "phone") != nil {
		t.Errorf("presence after leaving the audio = %v", out)
	}
	h.s.AddAudioOccupant(ctx, "standup", "phone", PhonePresence{})
	if err := h.s.SetOccupantAudio(ctx, "standup", "phone", &PhonePresence{}); !errors.Is(err, ErrNotAudio) {
		t.Errorf("SetOccupantAudio on a phone leg: %v", err)
	}
}

func TestLockedRoom(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.LockNewRooms = true })
	if out := h.join("alice@example.test/pc", "alice"); !hasStatus(out[0], "201") {
		t.Fatalf("creation = %v", out)
	}
	if out := h.join("bob@example.test/x", "bob"); len(out) != 1 || errCond(out[0]) != "item-not-found" {
		t.Fatalf("join of a locked room = %v, want item-not-found", out)
	}
	// An empty submission makes it an instant room.
	h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='i'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	if out := h.join("bob@example.test/x", "bob"); !hasStatus(to(out, "bob@example.test/x")[1], "110") {
		t.Errorf("join after unlocking = %v", out)
	}
	// Cancelling the first configuration abandons the room.
	h.in(`<presence from='carol@example.test/x' to='draft@` + testDomain + `/carol'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	h.in(`<iq from='carol@example.test/x' to='draft@` + testDomain + `' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='cancel'/></query></iq>`)
	for _, r := range h.s.Rooms() {
		if r.Name == "draft" {
			t.Errorf("cancelled room kept")
		}
	}
}

func TestSendOccupantMessage(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.join("alice@example.test/pc", "alice")
	h.s.AddAudioOccupant(ctx, "standup", "phone", PhonePresence{})
	h.s.takeOut()
	if err := h.s.SendOccupantMessage(ctx, "standup", "phone", "hello from SIP"); err != nil {
		t.Fatal(err)
	}
	out := h.s.takeOut()
	if len(out) != 1 || out[0].attr("from") != testRoom+"/phone" || out[0].child("", "body").text() != "hello from SIP" {
		t.Errorf("phone message = %v", out)
	}
	if a, err := h.s.Affiliation("standup", "Alice@Example.test"); err != nil || a != "owner" {
		t.Errorf("Affiliation = %v, %v", a, err)
	}
}
