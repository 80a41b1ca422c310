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
