package muc

import "testing"

func TestIQRelay(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	out := h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `/bob' type='get' id='v1'><vCard xmlns='vcard-temp'/></iq>`)
	if len(out) != 1 || out[0].attr("to") != "bob@example.test" || out[0].attr("from") != testRoom+"/alice" || out[0].attr("id") == "v1" {
		t.Fatalf("relayed request = %v, want it to bob's bare JID under alice's occupant JID", out)
	}
	ours := out[0].attr("id")
	// A reply from someone else with the same id is not taken.
	if out := h.in(`<iq from='eve@example.test' to='` + testRoom + `/alice' type='result' id='` + ours + `'><vCard xmlns='vcard-temp'><FN>Eve</FN></vCard></iq>`); len(out) != 0 {
		t.Errorf("a spoofed reply was relayed: %v", out)
	}
	out = h.in(`<iq from='bob@example.test' to='` + testRoom + `/alice' type='result' id='` + ours + `'><vCard xmlns='vcard-temp'><FN>Bob</FN></vCard></iq>`)
	if len(out) != 1 || out[0].attr("to") != "alice@example.test/pc" || out[0].attr("from") != testRoom+"/bob" || out[0].attr("id") != "v1" {
		t.Fatalf("relayed reply = %v", out)
	}
	if fn := out[0].child("vcard-temp", "vCard").child("", "FN"); fn == nil || fn.text() != "Bob" {
		t.Errorf("reply payload lost: %s", out[0])
	}
	// The same reply again is not relayed twice.
	if out := h.in(`<iq from='bob@example.test' to='` + testRoom + `/alice' type='result' id='` + ours + `'/>`); len(out) != 0 {
		t.Errorf("a reply was relayed twice: %v", out)
	}
	// Other IQs go to the full JID; an error reply comes back as an error and
	// does not remove bob as a ghost.
	out = h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `/bob' type='get' id='ver'><query xmlns='jabber:iq:version'/></iq>`)
	if len(out) != 1 || out[0].attr("to") != "bob@example.test/x" {
		t.Fatalf("version request = %v", out)
	}
	out = h.in(`<iq from='bob@example.test/x' to='` + testRoom + `/alice' type='error' id='` + out[0].attr("id") + `'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	if len(out) != 1 || errCond(out[0]) != "service-unavailable" || out[0].attr("id") != "ver" {
		t.Errorf("relayed error = %v", out)
	}
	if occ, _ := h.s.Occupants("standup"); len(occ) != 2 {
		t.Errorf("occupants after a relayed error: %+v", occ)
	}
}

// TestOccupantDisco covers disco on occupant JIDs (XEP-0045 6.7): relayed to
// a chat occupant's client (its own included), answered by the room for a
// phone leg, bad-request for a non-occupant.
func TestOccupantDisco(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	if err := h.s.AddAudioOccupant(t.Context(), "standup", "phone", PhonePresence{}); err != nil {
		t.Fatal(err)
	}
	h.s.takeOut()
	disco := func(from, nick, id, ns string) []*element {
		return h.in(`<iq from='` + from + `' to='` + testRoom + `/` + nick + `' type='get' id='` + id + `'><query xmlns='` + ns + `'/></iq>`)
	}
	for _, tc := range []struct{ nick, wantTo string }{{"bob", "bob@example.test/x"}, {"alice", "alice@example.test/pc"}} {
		out := disco("alice@example.test/pc", tc.nick, "d1", nsDiscoInfo)
		if len(out) != 1 || out[0].attr("type") != "get" || out[0].attr("to") != tc.wantTo || out[0].attr("from") != testRoom+"/alice" {
			t.Errorf("disco#info to %s: %v, want it relayed to %s", tc.nick, out, tc.wantTo)
		}
	}
	for _, ns := range []string{nsDiscoInfo, nsDiscoItems} {
		out := disco("alice@example.test/pc", "phone", "p1", ns)
		if len(out) != 1 || out[0].attr("type") != "result" || out[0].attr("from") != testRoom+"/phone" || out[0].attr("to") != "alice@example.test/pc" || out[0].attr("id") != "p1" {
			t.Fatalf("%s to a phone leg: %v", ns, out)
		}
		q := out[0].child(ns, "query")
		if q == nil {
			t.Fatalf("%s answer without a query: %s", ns, out[0])
		}
		if id := q.child(nsDiscoInfo, "identity"); (ns == nsDiscoInfo) != (id != nil && id.attr("category") == "client" && id.attr("type") == "phone") {
			t.Errorf("%s answer identity: %s", ns, out[0])
		}
	}
	if out := disco("eve@example.test/e", "bob", "e1", nsDiscoInfo); len(out) != 1 || errCond(out[0]) != "bad-request" {
		t.Errorf("a non-occupant's disco#info: %v, want bad-request", out)
	}
	if out := h.in(`<iq from='eve@example.test/e' to='` + testRoom + `/bob' type='get' id='e2'><ping xmlns='urn:xmpp:ping'/></iq>`); len(out) != 1 || errCond(out[0]) != "not-acceptable" {
		t.Errorf("a non-occupant's ping: %v, want not-acceptable (XEP-0410)", out)
	}
	if out := h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `/alice' type='get' id='v2'><query xmlns='jabber:iq:version'/></iq>`); len(out) != 1 || errCond(out[0]) != "service-unavailable" {
		t.Errorf("other iq to one's own nick: %v, want service-unavailable", out)
	}
}

// TestIQRelayTargetLeaves: a request relayed to an occupant who leaves
// before answering is answered recipient-unavailable, not left hanging.
func TestIQRelayTargetLeaves(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	h.join("carol@example.test/c", "carol")
	out := h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `/bob' type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if len(out) != 1 || out[0].attr("to") != "bob@example.test/x" {
		t.Fatalf("relayed request = %v", out)
	}
	h.in(`<iq from='carol@example.test/c' to='` + testRoom + `/alice' type='get' id='c1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	out = h.in(`<presence from='bob@example.test/x' to='` + testRoom + `/bob' type='unavailable'/>`)
	got := to(out, "alice@example.test/pc")
	var answered bool
	for _, e := range got {
		if e.Name.Local == "iq" {
			answered = e.attr("id") == "d1" && e.attr("from") == testRoom+"/bob" && errCond(e) == "recipient-unavailable"
		}
	}
	if !answered {
		t.Errorf("alice's pending request was not answered recipient-unavailable: %v", got)
	}
	for _, e := range to(out, "carol@example.test/c") {
		if e.Name.Local == "iq" {
			t.Errorf("carol's request to alice was answered although alice stayed: %s", e)
		}
	}
}
