package muc_test

import (
	"testing"

	"cusax.dev/bridge/muc/muctest"
)

func adminIQ(id, room, item string) string {
	return `<iq type='set' id='` + id + `' to='` + room + `'><query xmlns='http://jabber.org/protocol/muc#admin'>` + item + `</query></iq>`
}

func TestIntegrationModeration(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob, carol := e.client("alice"), e.client("bob"), e.client("carol")
	room := e.room("mod")
	for _, c := range []struct {
		cl   *muctest.Client
		nick string
	}{{alice, "alice"}, {bob, "bob"}, {carol, "carol"}} {
		if j := c.cl.Join(room, c.nick, muctest.JoinOptions{}); !j.OK {
			t.Fatalf("%s could not join: %s", c.nick, j.Error)
		}
	}

	// Voice revoked: bob's groupchat is refused with forbidden.
	res := alice.IQ("v1", adminIQ("v1", room, `<item nick='bob' role='visitor'/>`))
	if res.Attr("type") != "result" {
		t.Fatalf("revoking voice: %s", res.Raw)
	}
	mark := bob.Mark()
	bob.Send(`<message to='` + room + `' type='groupchat' id='silenced'><body>can you hear me</body></message>`)
	errMsg := bob.WaitFor(mark, "error for the visitor's message", func(s *muctest.Stanza) bool {
		return s.Name() == "message" && s.Attr("id") == "silenced" && s.Attr("type") == "error"
	})
	if errMsg.ErrorCondition() != "forbidden" {
		t.Errorf("visitor's message error = %q, want forbidden: %s", errMsg.ErrorCondition(), errMsg.Raw)
	}
	if n := alice.Count(0, func(s *muctest.Stanza) bool { return s.Body() == "can you hear me" }); n != 0 {
		t.Errorf("the visitor's message reached alice")
	}

	// Kick: 307.
	markBob, markCarol := bob.Mark(), carol.Mark()
	res = alice.IQ("k1", adminIQ("k1", room, `<item nick='bob' role='none'><reason>flooding</reason></item>`))
	if res.Attr("type") != "result" {
		t.Fatalf("kick: %s", res.Raw)
	}
	kicked := bob.WaitFor(markBob, "kick presence", isPresenceFrom(room+"/bob"))
	if kicked.Attr("type") != "unavailable" || !kicked.HasStatus("307") || !kicked.HasStatus("110") {
		t.Errorf("bob's kick presence = %s", kicked.Raw)
	}
	seen := carol.WaitFor(markCarol, "bob's kick seen by carol", func(s *muctest.Stanza) bool {
		return isPresenceFrom(room+"/bob")(s) && s.Attr("type") == "unavailable"
	})
	if !seen.HasStatus("307") || seen.HasStatus("110") {
		t.Errorf("carol saw %s", seen.Raw)
	}

	// Ban: 301, and rejoining is refused.
	if j := bob.Join(room, "bob", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("bob could not rejoin after a kick: %s", j.Error)
	}
	markBob = bob.Mark()
	res = alice.IQ("b1", adminIQ("b1", room, `<item jid='`+bob.JID+`' affiliation='outcast'><reason>spam</reason></item>`))
	if res.Attr("type") != "result" {
		t.Fatalf("ban: %s", res.Raw)
	}
	banned := bob.WaitFor(markBob, "ban presence", isPresenceFrom(room+"/bob"))
	if banned.Attr("type") != "unavailable" || !banned.HasStatus("301") {
		t.Errorf("bob's ban presence = %s", banned.Raw)
	}
	if j := bob.Join(room, "bob2", muctest.JoinOptions{}); j.OK || j.Error != "forbidden" {
		t.Errorf("banned rejoin: ok=%v err=%q, want forbidden", j.OK, j.Error)
	}
	list := alice.IQ("l1", `<iq type='get' id='l1' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>`)
	if it := list.Find("", "item"); it == nil || it.Attr("jid") != bob.JID {
		t.Errorf("ban list = %s", list.Raw)
	}

	// Self-ping (XEP-0410): joined answers result, not joined not-acceptable.
	ping := func(c *muctest.Client, id, nick string) muctest.Stanza {
		return c.IQ(id, `<iq type='get' id='`+id+`' to='`+room+`/`+nick+`'><ping xmlns='urn:xmpp:ping'/></iq>`)
	}
	if r := ping(carol, "p1", "carol"); r.Attr("type") != "result" {
		t.Errorf("self-ping of a joined occupant = %s", r.Raw)
	}
	if r := ping(bob, "p2", "bob"); r.ErrorCondition() != "not-acceptable" {
		t.Errorf("self-ping after a ban = %s, want not-acceptable", r.Raw)
	}
}

func TestIntegrationOwnerForm(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob := e.client("alice"), e.client("bob")
	room := e.room("owned")
	if j := alice.Join(room, "alice", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("join: %s", j.Error)
	}
	form := alice.IQ("f1", `<iq type='get' id='f1' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`)
	if v, ok := form.FieldValue("audio-video-uri"); !ok || v != "sip:owned@127.0.0.1" {
		t.Errorf("owner form audio-video-uri = %q (%v): %s", v, ok, form.Raw)
	}
	for _, f := range []string{"muc#roomconfig_roomname", "muc#roomconfig_membersonly", "muc#roomconfig_roomsecret", "muc#roomconfig_whois", "muc#roomconfig_allowpm", "muc#roomconfig_presencebroadcast"} {
		if _, ok := form.FieldValue(f); !ok {
			t.Errorf("owner form lacks %s", f)
		}
	}
	submit := func(id string, fields string) muctest.Stanza {
		return alice.IQ(id, `<iq type='set' id='`+id+`' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+fields+`</x></query></iq>`)
	}
	if r := submit("bad", `<field var='muc#roomconfig_maxusers'><value>many</value></field>`); r.ErrorCondition() != "not-acceptable" {
		t.Errorf("invalid form = %s, want not-acceptable", r.Raw)
	}
	if r := bob.IQ("f2", `<iq type='get' id='f2' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`); r.ErrorCondition() != "forbidden" {
		t.Errorf("non-owner form request = %s, want forbidden", r.Raw)
	}

	// Password.
	if r := submit("pw", `<field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field><field var='muc#roomconfig_roomsecret'><value>letmein</value></field><field var='muc#roomconfig_roomname'><value>Owned room</value></field>`); r.Attr("type") != "result" {
		t.Fatalf("setting a password: %s", r.Raw)
	}
	if j := bob.Join(room, "bob", muctest.JoinOptions{}); j.OK || j.Error != "not-authorized" {
		t.Errorf("join without password: ok=%v err=%q, want not-authorized", j.OK, j.Error)
	}
	if j := bob.Join(room, "bob", muctest.JoinOptions{Password: "letmein"}); !j.OK {
		t.Errorf("join with password failed: %s", j.Error)
	}
	info, err := bob.Disco(room)
	if err != nil || info.Find("", "identity").Attr("name") != "Owned room" {
		t.Errorf("room name after config: %v %s", err, info.Raw)
	}

	// Members-only: bob is not a member, so he is removed (322) and refused (407).
	mark := bob.Mark()
	if r := submit("mo", `<field var='muc#roomconfig_membersonly'><value>1</value></field><field var='muc#roomconfig_passwordprotectedroom'><value>0</value></field>`); r.Attr("type") != "result" {
		t.Fatalf("members-only: %s", r.Raw)
	}
	gone := bob.WaitFor(mark, "members-only removal", isPresenceFrom(room+"/bob"))
	if gone.Attr("type") != "unavailable" || !gone.HasStatus("322") {
		t.Errorf("removal presence = %s", gone.Raw)
	}
	if j := bob.Join(room, "bob", muctest.JoinOptions{}); j.OK || j.Error != "registration-required" {
		t.Errorf("non-member join: ok=%v err=%q, want registration-required", j.OK, j.Error)
	}
	if r := alice.IQ("m1", adminIQ("m1", room, `<item jid='`+bob.JID+`' affiliation='member'/>`)); r.Attr("type") != "result" {
		t.Fatalf("granting membership: %s", r.Raw)
	}
	if j := bob.Join(room, "bob", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("member join failed: %s", j.Error)
	}

	// Destroy with a reason and an alternate venue.
	mark = bob.Mark()
	r := alice.IQ("d1", `<iq type='set' id='d1' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='`+e.room("elsewhere")+`'><reason>moving</reason></destroy></query></iq>`)
	if r.Attr("type") != "result" {
		t.Fatalf("destroy: %s", r.Raw)
	}
	d := bob.WaitFor(mark, "destroy presence", isPresenceFrom(room+"/bob"))
	if dd := d.Find("", "destroy"); d.Attr("type") != "unavailable" || dd == nil || dd.Attr("jid") != e.room("elsewhere") {
		t.Errorf("destroy presence = %s", d.Raw)
	}
	if _, err := bob.Disco(room); err == nil {
		t.Errorf("disco#info on a destroyed room succeeded")
	}
}
