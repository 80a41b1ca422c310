package muc

import (
	"slices"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/store"
)

func TestJoinCreatesRoom(t *testing.T) {
	h := newHarness(t, nil)
	out := h.join("alice@example.test/pc", "Alice")
	if len(out) != 2 {
		t.Fatalf("join sent %d stanzas, want self-presence and subject: %v", len(out), out)
	}
	self := out[0]
	if self.Name.Local != "presence" || self.attr("from") != testRoom+"/Alice" || self.attr("to") != "alice@example.test/pc" {
		t.Fatalf("first stanza = %s, want the self-presence", self)
	}
	for _, c := range []string{"110", "201"} {
		if !hasStatus(self, c) {
			t.Errorf("self-presence lacks status %s: %s", c, self)
		}
	}
	if it := item(self); it == nil || it.attr("affiliation") != "owner" || it.attr("role") != "moderator" || it.attr("jid") != "alice@example.test/pc" {
		t.Errorf("creator's item = %v, want owner/moderator with real jid", item(self))
	}
	if self.child(nsOccupantID, "occupant-id") == nil {
		t.Errorf("self-presence has no occupant-id: %s", self)
	}
	if subj := out[1]; subj.Name.Local != "message" || subj.child("", "subject") == nil {
		t.Errorf("last stanza = %s, want the subject", subj)
	}
	if ev := h.events(); len(ev) != 1 || ev[0].Kind != EventJoined || ev[0].Nick != "Alice" || ev[0].JID != "alice@example.test" {
		t.Errorf("events = %+v, want one joined", ev)
	}
}

func TestSecondJoinerSeesFirst(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	out := h.join("bob@example.test/phone", "bob")
	toBob := to(out, "bob@example.test/phone")
	if len(toBob) != 3 {
		t.Fatalf("bob got %d stanzas, want alice's presence, his own, subject", len(toBob))
	}
	if toBob[0].attr("from") != testRoom+"/alice" || hasStatus(toBob[0], "110") {
		t.Errorf("bob's first stanza = %s, want alice's presence", toBob[0])
	}
	if it := item(toBob[0]); it.attr("jid") != "" {
		t.Errorf("semi-anonymous room showed alice's jid to a participant: %s", toBob[0])
	}
	if !hasStatus(toBob[1], "110") || hasStatus(toBob[1], "201") {
		t.Errorf("bob's self-presence codes = %v, want 110 without 201", codes(toBob[1]))
	}
	toAlice := to(out, "alice@example.test/pc")
	if len(toAlice) != 1 || toAlice[0].attr("from") != testRoom+"/bob" {
		t.Fatalf("alice got %v, want bob's presence", toAlice)
	}
	if item(toAlice[0]).attr("jid") != "bob@example.test/phone" {
		t.Errorf("moderator alice does not see bob's real jid: %s", toAlice[0])
	}
}

func TestJoinRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(h *harness)
		from  string
		nick  string
		extra string
		cond  string
		errTy string
	}{
		{"nick conflict is case-insensitive", nil, "bob@example.test/x", "ALICE", "", "conflict", "cancel"},
		{"bad nick", nil, "bob@example.test/x", "\u0378x", "", "jid-malformed", "modify"},
		{"password missing", func(h *harness) { h.configure(`passwordprotectedroom`, "1", `roomsecret`, "pw") }, "bob@example.test/x", "bob", "", "not-authorized", "auth"},
		{"password wrong", func(h *harness) { h.configure(`passwordprotectedroom`, "1", `roomsecret`, "pw") }, "bob@example.test/x", "bob", "<password>nope</password>", "not-authorized", "auth"},
		{"members only", func(h *harness) { h.configure(`membersonly`, "1") }, "bob@example.test/x", "bob", "", "registration-required", "auth"},
		{"banned", func(h *harness) { h.setAff("bob@example.test", "outcast") }, "bob@example.test/x", "bob", "", "forbidden", "auth"},
		{"full", func(h *harness) { h.configure(`maxusers`, "1") }, "bob@example.test/x", "bob", "", "service-unavailable", "wait"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.join("alice@example.test/pc", "alice")
			if c.setup != nil {
				c.setup(h)
			}
			out := h.join(c.from, c.nick, c.extra)
			if len(out) != 1 || errCond(out[0]) != c.cond {
				t.Fatalf("got %v, want one %s error", out, c.cond)
			}
			if ty := out[0].child("", "error").attr("type"); ty != c.errTy {
				t.Errorf("error type = %q, want %q", ty, c.errTy)
			}
			if out[0].attr("to") != c.from {
				t.Errorf("error went to %q", out[0].attr("to"))
			}
			occ, _ := h.s.Occupants("standup")
			if len(occ) != 1 {
				t.Errorf("refused join changed the room: %+v", occ)
			}
		})
	}
}

// configure submits the owner form as alice.
func (h *harness) configure(kv ...string) []*element {
	h.t.Helper()
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(`<field var='muc#roomconfig_` + kv[i] + `'><value>` + kv[i+1] + `</value></field>`)
	}
	out := h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='cfg'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` + b.String() + `</x></query></iq>`)
	for _, e := range out {
		if e.Name.Local == "iq" && e.attr("type") != "result" {
			h.t.Fatalf("configure %v: %s", kv, e)
		}
	}
	return out
}

func (h *harness) setAff(jid, aff string) []*element {
	h.t.Helper()
	return h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='aff'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='` + aff + `' jid='` + jid + `'><reason>because</reason></item></query></iq>`)
}

func (h *harness) setRole(from, nick, role string) []*element {
	h.t.Helper()
	return h.in(`<iq from='` + from + `' to='` + testRoom + `' type='set' id='role'><query xmlns='http://jabber.org/protocol/muc#admin'><item role='` + role + `' nick='` + nick + `'><reason>why</reason></item></query></iq>`)
}

func TestGroupchatEcho(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.in(`<message from='bob@example.test/x' to='` + testRoom + `' type='groupchat' id='m1'><body>hello &amp; welcome</body><stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='` + testRoom + `'/></message>`)
	if len(out) != 2 {
		t.Fatalf("fan-out of %d stanzas, want 2 (echo included): %v", len(out), out)
	}
	var ids []string
	for _, m := range out {
		if m.attr("from") != testRoom+"/bob" || m.attr("id") != "m1" || m.attr("type") != "groupchat" {
			t.Errorf("reflected message = %s", m)
		}
		if b := m.child("", "body"); b == nil || b.text() != "hello & welcome" {
			t.Errorf("body lost: %s", m)
		}
		var sids []*element
		for _, c := range m.children() {
			if c.Name.Space == nsStanzaID {
				sids = append(sids, c)
			}
		}
		if len(sids) != 1 || sids[0].attr("id") == "forged" || sids[0].attr("by") != testRoom {
			t.Errorf("stanza-ids = %v, want exactly the room's own", sids)
		}
		ids = append(ids, sids[0].attr("id"))
		if m.child(nsOccupantID, "occupant-id") == nil {
			t.Errorf("no occupant-id: %s", m)
		}
	}
	if ids[0] != ids[1] {
		t.Errorf("stanza-id differs between recipients: %v", ids)
	}
	if ev := h.events(); ev[len(ev)-1].Kind != EventMessage || ev[len(ev)-1].Body != "hello & welcome" {
		t.Errorf("last event = %+v, want the message", ev[len(ev)-1])
	}
	// A non-occupant may not post.
	out = h.in(`<message from='eve@example.test/x' to='` + testRoom + `' type='groupchat' id='m2'><body>spam</body></message>`)
	if len(out) != 1 || errCond(out[0]) != "not-acceptable" {
		t.Errorf("non-occupant groupchat got %v, want not-acceptable", out)
	}
}

func TestHistoryOnJoin(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	for _, b := range []string{"one", "two", "three"} {
		h.in(`<message from='alice@example.test/pc' to='` + testRoom + `' type='groupchat'><body>` + b + `</body></message>`)
	}
	cases := []struct {
		history string
		want    []string
	}{
		{"", []string{"one", "two", "three"}},
		{"<history maxstanzas='2'/>", []string{"two", "three"}},
		{"<history maxstanzas='0'/>", nil},
		{"<history maxchars='0'/>", nil},
		{"<history seconds='3600'/>", []string{"one", "two", "three"}},
		{"<history since='2999-01-01T00:00:00Z'/>", nil},
	}
	for i, c := range cases {
		out := h.join("bob@example.test/"+itoa(i), "bob"+itoa(i), c.history)
		var got []string
		for _, m := range to(out, "bob@example.test/"+itoa(i)) {
			if b := m.child("", "body"); b != nil {
				got = append(got, b.text())
				if m.child(nsDelay, "delay") == nil {
					t.Errorf("history message without delay: %s", m)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("history %q gave %v, want %v", c.history, got, c.want)
		}
	}
}

func TestNickChange(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.join("bob@example.test/x", "alice")
	if len(out) != 1 || errCond(out[0]) != "conflict" {
		t.Fatalf("nick change onto alice: %v, want conflict", out)
	}
	out = h.join("bob@example.test/x", "robert")
	toAlice := to(out, "alice@example.test/pc")
	if len(toAlice) != 2 || toAlice[0].attr("type") != "unavailable" || !hasStatus(toAlice[0], "303") || item(toAlice[0]).attr("nick") != "robert" {
		t.Fatalf("alice saw %v, want unavailable 303 then the new nick", toAlice)
	}
	if toAlice[1].attr("from") != testRoom+"/robert" {
		t.Errorf("second presence from %q", toAlice[1].attr("from"))
	}
	toBob := to(out, "bob@example.test/x")
	if len(toBob) != 2 || !hasStatus(toBob[0], "110") || !hasStatus(toBob[1], "110") {
		t.Errorf("bob's own presences lack 110: %v", toBob)
	}
}

func TestLeaveRemovesTemporaryRoom(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	out := h.in(`<presence from='alice@example.test/pc' to='` + testRoom + `/alice' type='unavailable'/>`)
	if len(out) != 1 || out[0].attr("type") != "unavailable" || !hasStatus(out[0], "110") {
		t.Fatalf("leave sent %v", out)
	}
	if len(h.s.Rooms()) != 0 {
		t.Errorf("empty temporary room kept: %+v", h.s.Rooms())
	}
}

// TestOccupantsSortedFollowsChanges: the sorted occupant list is kept
// between changes (fan-out does not sort per message), follows every kind
// of change, and a list handed out earlier never changes under its holder.
func TestOccupantsSortedFollowsChanges(t *testing.T) {
	r := newRoom("r", "conference.example.test", store.RoomConfig{}, time.Now())
	keys := func(os []*occupant) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.key)
		}
		return out
	}
	for _, k := range []string{"carol", "alice", "bob"} {
		r.putOccupant(&occupant{nick: k, key: k})
	}
	first := r.occupantsSorted()
	if got := keys(first); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Fatalf("sorted = %v", got)
	}
	if again := r.occupantsSorted(); &again[0] != &first[0] {
		t.Error("the list was built again with no change in between")
	}
	r.dropOccupant("bob")
	if got := keys(r.occupantsSorted()); !slices.Equal(got, []string{"alice", "carol"}) {
		t.Errorf("after bob left: %v", got)
	}
	if got := keys(first); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Errorf("a list handed out before the change changed to %v", got)
	}
	carol := r.occ["carol"]
	r.dropOccupant(carol.key)
	carol.nick, carol.key = "aaron", "aaron"
	r.putOccupant(carol)
	if got := keys(r.occupantsSorted()); !slices.Equal(got, []string{"aaron", "alice"}) {
		t.Errorf("after a nick change: %v", got)
	}
	r.clearOccupants()
	if got := r.occupantsSorted(); len(got) != 0 {
		t.Errorf("after clearing: %v", keys(got))
	}
}
