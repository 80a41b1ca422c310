package muc

import "testing"

func fieldValue(q *element, v string) (string, bool) {
	for _, x := range q.children() {
		if x.Name.Space != nsData {
			continue
		}
		for _, f := range x.children() {
			if f.attr("var") == v {
				if val := f.child("", "value"); val != nil {
					return val.text(), true
				}
				return "", true
			}
		}
	}
	return "", false
}

func features(q *element) map[string]bool {
	m := map[string]bool{}
	for _, f := range q.children() {
		if f.Name.Local == "feature" {
			m[f.attr("var")] = true
		}
	}
	return m
}

func TestDiscoService(t *testing.T) {
	h := newHarness(t, nil)
	out := h.in(`<iq from='bob@example.test/x' to='` + testDomain + `' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	q := out[0].child(nsDiscoInfo, "query")
	if q == nil || out[0].attr("type") != "result" || !features(q)[NSMUC] {
		t.Fatalf("service disco#info = %v", out)
	}
	if id := q.child("", "identity"); id.attr("category") != "conference" || id.attr("type") != "text" {
		t.Errorf("identity = %s", id)
	}
	h.join("alice@example.test/pc", "alice")
	h.in(`<presence from='carol@example.test/x' to='hidden@` + testDomain + `/carol'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	h.in(`<iq from='carol@example.test/x' to='hidden@` + testDomain + `' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_publicroom'><value>0</value></field></x></query></iq>`)
	out = h.in(`<iq from='bob@example.test/x' to='` + testDomain + `' type='get' id='i'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`)
	items := out[0].child(nsDiscoItems, "query").children()
	if len(items) != 1 || items[0].attr("jid") != testRoom {
		t.Errorf("disco#items = %s, want only the public room", out[0])
	}
}

func TestDiscoRoom(t *testing.T) {
	h := newHarness(t, nil)
	out := h.in(`<iq from='bob@example.test/x' to='` + testRoom + `' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if errCond(out[0]) != "item-not-found" {
		t.Fatalf("disco#info on an absent room = %v, want item-not-found", out)
	}
	h.join("alice@example.test/pc", "alice")
	h.configure("roomdesc", "daily sync", "persistentroom", "1")
	h.in(`<message from='alice@example.test/pc' to='` + testRoom + `' type='groupchat'><subject>today</subject></message>`)
	out = h.in(`<iq from='bob@example.test/x' to='` + testRoom + `' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	q := out[0].child(nsDiscoInfo, "query")
	for v, want := range map[string]string{
		FieldAudioVideoURI:         "sip:standup@sip.example.test",
		"muc#roominfo_description": "daily sync",
		"muc#roominfo_subject":     "today",
		"muc#roominfo_occupants":   "1",
		"FORM_TYPE":                nsRoomInfo,
	} {
		if got, _ := fieldValue(q, v); got != want {
			t.Errorf("%s = %q, want %q", v, got, want)
		}
	}
	f := features(q)
	for _, want := range []string{"muc_persistent", "muc_public", "muc_open", "muc_unmoderated", "muc_semianonymous", "muc_unsecured", NSMUC, nsStanzaID, nsOccupantID} {
		if !f[want] {
			t.Errorf("feature %s missing", want)
		}
	}
	// A persistent room answers disco#info with nobody inside.
	h.in(`<presence from='alice@example.test/pc' to='` + testRoom + `/alice' type='unavailable'/>`)
	out = h.in(`<iq from='bob@example.test/x' to='` + testRoom + `' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if got, _ := fieldValue(out[0].child(nsDiscoInfo, "query"), "muc#roominfo_occupants"); got != "0" {
		t.Errorf("empty persistent room: %v", out)
	}
	// Without a SIP domain the field is left out.
	h2 := newHarness(t, func(c *Config) { c.SIPDomain = "" })
	h2.join("alice@example.test/pc", "alice")
	out = h2.in(`<iq from='bob@example.test/x' to='` + testRoom + `' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if _, ok := fieldValue(out[0].child(nsDiscoInfo, "query"), FieldAudioVideoURI); ok {
		t.Errorf("audio-video-uri present without a SIP domain")
	}
}
