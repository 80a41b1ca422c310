package muc

import (
	"testing"
)

func TestVoiceRevoked(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.setRole("alice@example.test/pc", "bob", "visitor")
	if res := to(out, "alice@example.test/pc"); res[len(res)-1].attr("type") != "result" {
		t.Fatalf("role change not acknowledged: %v", out)
	}
	toBob := to(out, "bob@example.test/x")
	if len(toBob) != 1 || item(toBob[0]).attr("role") != "visitor" || !hasStatus(toBob[0], "110") {
		t.Fatalf("bob was told %v, want his visitor presence", toBob)
	}
	out = h.in(`<message from='bob@example.test/x' to='` + testRoom + `' type='groupchat' id='v'><body>can I speak?</body></message>`)
	if len(out) != 1 || errCond(out[0]) != "forbidden" || out[0].attr("id") != "v" {
		t.Fatalf("visitor groupchat got %v, want forbidden", out)
	}
	ev := h.events()
	if e := ev[len(ev)-1]; e.Kind != EventRoleChanged || e.Role != RoleVisitor || e.Actor != "alice" {
		t.Errorf("last event = %+v", e)
	}
	// A participant may not change roles.
	h.join("carol@example.test/x", "carol")
	out = h.setRole("carol@example.test/x", "bob", "participant")
	if len(out) != 1 || errCond(out[0]) != "forbidden" {
		t.Errorf("participant granting voice got %v, want forbidden", out)
	}
}

func TestKick(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.setRole("alice@example.test/pc", "bob", "none")
	toBob := to(out, "bob@example.test/x")
	if len(toBob) != 1 || toBob[0].attr("type") != "unavailable" || !hasStatus(toBob[0], "307") || !hasStatus(toBob[0], "110") {
		t.Fatalf("bob got %v, want unavailable 307+110", toBob)
	}
	it := item(toBob[0])
	if it.attr("role") != "none" || it.child("", "actor").attr("nick") != "alice" || it.child("", "reason").text() != "why" {
		t.Errorf("kick item = %s", toBob[0])
	}
	if occ, _ := h.s.Occupants("standup"); len(occ) != 1 {
		t.Errorf("kicked occupant still there: %+v", occ)
	}
	// The owner cannot be kicked by a moderator of lower affiliation.
	h.join("bob@example.test/x", "bob")
	h.setRole("alice@example.test/pc", "bob", "moderator")
	out = h.setRole("bob@example.test/x", "alice", "none")
	if len(out) != 1 || errCond(out[0]) != "not-allowed" {
		t.Errorf("kicking the owner got %v, want not-allowed", out)
	}
}

func TestBan(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.setAff("bob@example.test", "outcast")
	toBob := to(out, "bob@example.test/x")
	if len(toBob) != 1 || !hasStatus(toBob[0], "301") || item(toBob[0]).attr("affiliation") != "outcast" {
		t.Fatalf("bob got %v, want unavailable 301 outcast", toBob)
	}
	out = h.join("bob@example.test/other", "bobby")
	if len(out) != 1 || errCond(out[0]) != "forbidden" {
		t.Fatalf("banned rejoin got %v, want forbidden", out)
	}
	out = h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `' type='get' id='l'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>`)
	q := out[0].child(NSMUCAdmin, "query")
	if q == nil || len(q.children()) != 1 || q.children()[0].attr("jid") != "bob@example.test" || q.children()[0].child("", "reason").text() != "because" {
		t.Fatalf("ban list = %v", out)
	}
	// Non-admins may not read it.
	h.join("carol@example.test/x", "carol")
	out = h.in(`<iq from='carol@example.test/x' to='` + testRoom + `' type='get' id='l'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>`)
	if errCond(out[0]) != "forbidden" {
		t.Errorf("participant reading the ban list got %v", out)
	}
	kinds := map[EventKind]bool{}
	for _, e := range h.events() {
		kinds[e.Kind] = true
	}
	if !kinds[EventBanned] || !kinds[EventAffiliationChanged] {
		t.Errorf("events lack banned/affiliation-changed: %v", kinds)
	}
}

func TestLastOwnerKept(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	out := h.setAff("alice@example.test", "member")
	if len(out) != 1 || errCond(out[0]) != "conflict" {
		t.Fatalf("demoting the last owner got %v, want conflict", out)
	}
}

func TestMembersOnlyRemoval(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.setAff("bob@example.test", "member")
	h.configure("membersonly", "1")
	if out := h.join("bob@example.test/x", "bob"); !hasStatus(to(out, "bob@example.test/x")[1], "110") {
		t.Fatalf("member could not enter: %v", out)
	}
	out := h.setAff("bob@example.test", "none")
	toBob := to(out, "bob@example.test/x")
	if len(toBob) != 1 || !hasStatus(toBob[0], "321") {
		t.Fatalf("bob got %v, want 321", toBob)
	}
}

func TestDestroy(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.in(`<iq from='bob@example.test/x' to='` + testRoom + `' type='set' id='d'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`)
	if errCond(out[0]) != "forbidden" {
		t.Fatalf("non-owner destroy got %v", out)
	}
	out = h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='d'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='other@conference.example.test'><reason>moved</reason></destroy></query></iq>`)
	toBob := to(out, "bob@example.test/x")
	if len(toBob) != 1 {
		t.Fatalf("bob got %v", toBob)
	}
	d := toBob[0].child(NSMUCUser, "x").child("", "destroy")
	if d == nil || d.attr("jid") != "other@conference.example.test" || d.child("", "reason").text() != "moved" {
		t.Errorf("destroy presence = %s", toBob[0])
	}
	if len(h.s.Rooms()) != 0 {
		t.Errorf("room survived destroy")
	}
}

func TestPrivateMessages(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.in(`<message from='bob@example.test/x' to='` + testRoom + `/alice' type='chat' id='p'><body>psst</body></message>`)
	if len(out) != 1 || out[0].attr("to") != "alice@example.test/pc" || out[0].attr("from") != testRoom+"/bob" || out[0].child(NSMUCUser, "x") == nil {
		t.Fatalf("pm relayed as %v", out)
	}
	h.configure("allowpm", "moderators")
	out = h.in(`<message from='bob@example.test/x' to='` + testRoom + `/alice' type='chat' id='p'><body>psst</body></message>`)
	if errCond(out[0]) != "forbidden" {
		t.Errorf("pm with allowpm=moderators got %v", out)
	}
	out = h.in(`<message from='alice@example.test/pc' to='` + testRoom + `/nobody' type='chat'><body>x</body></message>`)
	if errCond(out[0]) != "item-not-found" {
		t.Errorf("pm to absent nick got %v", out)
	}
}

func TestSubject(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.in(`<message from='bob@example.test/x' to='` + testRoom + `' type='groupchat'><subject>mine</subject></message>`)
	if errCond(out[0]) != "forbidden" {
		t.Fatalf("participant subject change got %v", out)
	}
	out = h.in(`<message from='alice@example.test/pc' to='` + testRoom + `' type='groupchat'><subject>agenda</subject></message>`)
	if len(out) != 2 || out[0].child("", "subject").text() != "agenda" {
		t.Fatalf("subject broadcast = %v", out)
	}
	out = h.join("carol@example.test/x", "carol")
	last := out[len(out)-1]
	if last.child("", "subject").text() != "agenda" || last.attr("from") != testRoom+"/alice" {
		t.Errorf("joiner's subject = %s", last)
	}
}

func TestVoiceRequest(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.configure("moderatedroom", "1")
	h.join("bob@example.test/x", "bob")
	req := `<message from='bob@example.test/x' to='` + testRoom + `'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field><field var='muc#role'><value>participant</value></field></x></message>`
	out := h.in(req)
	if len(out) != 1 || out[0].attr("to") != "alice@example.test/pc" {
		t.Fatalf("voice request forwarded as %v", out)
	}
	approve := `<message from='alice@example.test/pc' to='` + testRoom + `'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field><field var='muc#role'><value>participant</value></field><field var='muc#roomnick'><value>bob</value></field><field var='muc#request_allow'><value>true</value></field></x></message>`
	h.in(approve)
	occ, _ := h.s.Occupants("standup")
	for _, o := range occ {
		if o.Nick == "bob" && o.Role != RoleParticipant {
			t.Errorf("bob's role after approval = %s", o.Role)
		}
	}
}

func TestInvite(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	out := h.in(`<message from='alice@example.test/pc' to='` + testRoom + `'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='carol@example.test'><reason>join us</reason></invite></x></message>`)
	if len(out) != 1 || out[0].attr("to") != "carol@example.test" {
		t.Fatalf("invite = %v", out)
	}
	inv := out[0].child(NSMUCUser, "x").child("", "invite")
	if inv.attr("from") != "alice@example.test/pc" || inv.child("", "reason").text() != "join us" {
		t.Errorf("invite = %s", out[0])
	}
}
