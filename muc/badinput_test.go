package muc

import "testing"

// Each bad stanza gets exactly one error of the right condition and leaves
// the room as it was.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name, in, cond string
	}{
		{"iq without id", `<iq from='bob@example.test/x' to='` + testRoom + `' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, "bad-request"},
		{"iq with two children", `<iq from='bob@example.test/x' to='` + testRoom + `' type='get' id='1'><a xmlns='x'/><b xmlns='y'/></iq>`, "bad-request"},
		{"iq bad type", `<iq from='bob@example.test/x' to='` + testRoom + `' type='fetch' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, "bad-request"},
		{"unknown iq to room", `<iq from='bob@example.test/x' to='` + testRoom + `' type='get' id='1'><vCard xmlns='vcard-temp'/></iq>`, "service-unavailable"},
		{"unknown iq to service", `<iq from='bob@example.test/x' to='` + testDomain + `' type='set' id='1'><query xmlns='jabber:iq:register'/></iq>`, "service-unavailable"},
		{"malformed to", `<message from='bob@example.test/x' to='a@b@c' type='groupchat'><body>x</body></message>`, "jid-malformed"},
		{"other domain", `<message from='bob@example.test/x' to='room@elsewhere.test' type='groupchat'><body>x</body></message>`, "service-unavailable"},
		{"join without nick", `<presence from='bob@example.test/x' to='` + testRoom + `'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, "jid-malformed"},
		{"join from bare jid", `<presence from='bob@example.test' to='` + testRoom + `/bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, "bad-request"},
		{"presence bad type", `<presence from='bob@example.test/x' to='` + testRoom + `/bob' type='available'/>`, "bad-request"},
		{"nick too long", `<presence from='bob@example.test/x' to='` + testRoom + `/` + string(make([]byte, 0)) + longNick() + `'/>`, "jid-malformed"},
		{"groupchat from non-occupant", `<message from='eve@example.test/x' to='` + testRoom + `' type='groupchat'><body>x</body></message>`, "not-acceptable"},
		{"chat to the room", `<message from='alice@example.test/pc' to='` + testRoom + `' type='chat'><body>x</body></message>`, "not-acceptable"},
		{"groupchat to an occupant", `<message from='alice@example.test/pc' to='` + testRoom + `/alice' type='groupchat'><body>x</body></message>`, "bad-request"},
		{"message to absent room", `<message from='bob@example.test/x' to='nope@` + testDomain + `' type='groupchat'><body>x</body></message>`, "item-not-found"},
		{"admin without items", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'/></iq>`, "bad-request"},
		{"admin bad role", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='alice' role='king'/></query></iq>`, "bad-request"},
		{"admin bad affiliation", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='x@example.test' affiliation='king'/></query></iq>`, "bad-request"},
		{"admin bad jid", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='@@' affiliation='member'/></query></iq>`, "jid-malformed"},
		{"admin both", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='x@example.test' nick='alice' role='visitor' affiliation='member'/></query></iq>`, "bad-request"},
		{"admin absent nick", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='ghost' role='visitor'/></query></iq>`, "item-not-found"},
		{"owner form wrong type", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='form'/></query></iq>`, "bad-request"},
		{"owner form bad bool", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_membersonly'><value>maybe</value></field></x></query></iq>`, "not-acceptable"},
		{"owner form bad whois", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_whois'><value>everyone</value></field></x></query></iq>`, "not-acceptable"},
		{"owner form dup field", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_roomname'><value>a</value></field><field var='muc#roomconfig_roomname'><value>b</value></field></x></query></iq>`, "bad-request"},
		{"owner form wrong FORM_TYPE", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:other</value></field></x></query></iq>`, "bad-request"},
		{"password room without password", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field></x></query></iq>`, "not-acceptable"},
		{"destroy bad venue", `<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='@@'/></query></iq>`, "jid-malformed"},
		{"invite without to", `<message from='alice@example.test/pc' to='` + testRoom + `'><x xmlns='http://jabber.org/protocol/muc#user'><invite/></x></message>`, "jid-malformed"},
		{"self-ping under a nick not held", `<iq from='alice@example.test/pc' to='` + testRoom + `/ghost' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`, "not-acceptable"},
		{"iq to an absent occupant", `<iq from='alice@example.test/pc' to='` + testRoom + `/ghost' type='get' id='1'><query xmlns='jabber:iq:version'/></iq>`, "item-not-found"},
		{"iq to occupant from outsider", `<iq from='eve@example.test/x' to='` + testRoom + `/alice' type='get' id='1'><query xmlns='jabber:iq:version'/></iq>`, "not-acceptable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.join("alice@example.test/pc", "alice")
			h.join("bob@example.test/x", "bob")
			before := h.s.Rooms()
			occBefore, _ := h.s.Occupants("standup")
			out := h.in(c.in)
			if len(out) != 1 || errCond(out[0]) != c.cond {
				t.Fatalf("got %v, want one %s error", out, c.cond)
			}
			if out[0].attr("to") != attrOf(t, c.in, "from") {
				t.Errorf("error sent to %q", out[0].attr("to"))
			}
			after := h.s.Rooms()
			occAfter, _ := h.s.Occupants("standup")
			if len(before) != len(after) || before[0].Config.Title != after[0].Config.Title || len(occBefore) != len(occAfter) {
				t.Errorf("state changed: %+v -> %+v", before, after)
			}
		})
	}
}

func longNick() string {
	b := make([]byte, maxNickBytes+1)
	for i := range b {
		b[i] = 'n'
	}
	return string(b)
}

func attrOf(t *testing.T, x, name string) string {
	el, err := parseElement([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	return el.attr(name)
}

// Errors and results are never answered (no loops between entities).
func TestNoReplyToReplies(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	for _, x := range []string{
		`<iq from='bob@example.test/x' to='` + testRoom + `' type='result' id='1'/>`,
		`<iq from='bob@example.test/x' to='` + testRoom + `' type='error' id='1'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
		`<message from='bob@example.test/x' to='` + testRoom + `' type='error'><body>x</body></message>`,
		`<message to='` + testRoom + `' type='groupchat'><body>no from</body></message>`,
		`<handshake/>`,
	} {
		if out := h.in(x); len(out) != 0 {
			t.Errorf("%s was answered with %v", x, out)
		}
	}
}

// A client that bounces the room's traffic is removed (XEP-0045 18.1).
func TestBounceRemovesGhost(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.in(`<message from='bob@example.test/x' to='` + testRoom + `/alice' type='error'><error type='cancel'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
	toAlice := to(out, "alice@example.test/pc")
	if len(toAlice) != 1 || !hasStatus(toAlice[0], "333") {
		t.Fatalf("alice was told %v, want bob's unavailable 333", out)
	}
	if occ, _ := h.s.Occupants("standup"); len(occ) != 1 {
		t.Errorf("ghost kept: %+v", occ)
	}
}
