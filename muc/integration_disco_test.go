package muc_test

import (
	"slices"
	"testing"

	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
)

// TestIntegrationOccupantDisco: disco#info to room@service/nick reaches the
// occupant's client through the room and its answer comes back under the
// occupant JID (XEP-0045 6.7), hiding the real JID; a non-occupant gets
// bad-request; a phone leg, which has no client, is answered for by the room.
func TestIntegrationOccupantDisco(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob, carol := e.client("alice"), e.client("bob"), e.client("carol")
	room := e.room("discoroom")
	for _, j := range []struct {
		c    *muctest.Client
		nick string
	}{{alice, "alice"}, {bob, "bob"}} {
		if r := j.c.Join(room, j.nick, muctest.JoinOptions{}); !r.OK {
			t.Fatalf("%s's join failed: %s %s", j.nick, r.Error, r.Self.Raw)
		}
	}

	info, err := alice.Disco(room + "/bob")
	if err != nil {
		t.Fatalf("disco#info to bob's occupant JID: %v: %s", err, info.Raw)
	}
	if info.Attr("from") != room+"/bob" {
		t.Errorf("the answer comes from %q, want the occupant JID %s: %s", info.Attr("from"), room+"/bob", info.Raw)
	}
	var features []string
	for _, f := range info.FindAll("feature") {
		features = append(features, f.Attr("var"))
	}
	if !slices.Contains(features, "http://jabber.org/protocol/disco#info") {
		t.Errorf("the answer is not bob's client's disco#info (features %v): %s", features, info.Raw)
	}

	if err := e.svc.AddAudioOccupant(t.Context(), "discoroom", "dial-in", muc.PhonePresence{Status: "on the phone"}); err != nil {
		t.Fatal(err)
	}
	info, err = alice.Disco(room + "/dial-in")
	if err != nil {
		t.Fatalf("disco#info to a phone leg: %v: %s", err, info.Raw)
	}
	if id := info.Find("", "identity"); id == nil || id.Attr("category") != "client" || id.Attr("type") != "phone" || info.Attr("from") != room+"/dial-in" {
		t.Errorf("a phone leg's disco#info: %s", info.Raw)
	}

	res, err := carol.Disco(room + "/bob")
	if err == nil || res.ErrorCondition() != "bad-request" {
		t.Errorf("a non-occupant's disco#info to an occupant: err=%v condition=%q, want bad-request: %s", err, res.ErrorCondition(), res.Raw)
	}
}
