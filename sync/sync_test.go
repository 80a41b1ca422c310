package sync

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

func TestDirectory(t *testing.T) {
	rules, err := compileDirectory([]DirectoryRule{
		{SIP: "sip:*@example.test", JID: "*@example.test"},
		{SIP: "sip:+1555*@pbx.test", JID: "ext*@corp.test"},
		{SIP: "sip:+15550100@trunk.test", JID: "carol@example.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ aor, want string }{
		{"sip:alice@example.test", "alice@example.test"},
		{"\"Alice\" <sip:Alice@Example.test:5060;transport=udp>;tag=x", "alice@example.test"},
		{"sips:bob@example.test", "bob@example.test"},
		{"sip:+15551234@pbx.test", "ext1234@corp.test"},
		{"sip:+1555@pbx.test", ""},
		{"sip:+15550100@trunk.test", "carol@example.test"},
		{"sip:+15550101@trunk.test", ""},
		{"sip:alice@evil.test", ""},
		{"tel:+15551234", ""},
		{"sip:a:b@example.test", ""},
		{"", ""},
	} {
		if got := lookupDirectory(rules, tc.aor); got != tc.want {
			t.Errorf("lookup(%q) = %q, want %q", tc.aor, got, tc.want)
		}
	}
	for _, bad := range []DirectoryRule{
		{SIP: "alice@example.test", JID: "alice@example.test"},
		{SIP: "sip:*@example.test", JID: "*"},
		{SIP: "sip:**@example.test", JID: "*@example.test"},
		{SIP: "sip:alice@example.test", JID: "*@example.test"},
	} {
		if _, err := compileDirectory([]DirectoryRule{bad}); err == nil {
			t.Errorf("rule %+v accepted", bad)
		}
	}
}

func TestIMPPHint(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"xmpp:alice@example.test", "alice@example.test"},
		{"<xmpp:Alice@Example.Test>", "alice@example.test"},
		{"xmpp:alice@example.test/phone", "alice@example.test"},
		{"xmpp:alice@example.test?message", "alice@example.test"},
		{"sip:alice@example.test", ""},
		{"xmpp:example.test", ""},
		{"xmpp:", ""},
	} {
		if got := impJID(tc.in); got != tc.want {
			t.Errorf("impJID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

type fakeVCards map[string]string

func (v fakeVCards) VCard(_ context.Context, jid string) ([]byte, error) {
	return []byte(v[jid]), nil
}

func TestVCardSIPAddresses(t *testing.T) {
	for _, tc := range []struct{ name, vcard, want string }{
		{"url", `<vCard xmlns='vcard-temp'><FN>Alice</FN><URL>sip:alice@pbx.test</URL></vCard>`, "sip:alice@pbx.test"},
		{"impp and tel", `<vCard xmlns='vcard-temp'><IMPP> sips:a@b.test </IMPP><TEL><WORK/><NUMBER>sip:+1555@pbx.test;user=phone</NUMBER></TEL></vCard>`, "sips:a@b.test sip:+1555@pbx.test;user=phone"},
		{"free text does not count", `<vCard xmlns='vcard-temp'><NOTE>sip:alice@pbx.test</NOTE><DESC>sip:x@y</DESC></vCard>`, ""},
		{"not sip", `<vCard xmlns='vcard-temp'><URL>https://alice.test</URL><NUMBER>sip:x@y</NUMBER></vCard>`, ""},
		{"text around", `<vCard xmlns='vcard-temp'><URL>call me at sip:alice@pbx.test</URL></vCard>`, ""},
		{"malformed keeps what came before", `<vCard xmlns='vcard-temp'><URL>sip:a@b</URL><URL>sip:c@d</vCard>`, "sip:a@b"},
		{"empty", ``, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(vcardSIPAddresses([]byte(tc.vcard)), " "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBinding(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Directory = []DirectoryRule{{SIP: "sip:*@corp.test", JID: "*@corp.test"}}
		c.VCards = fakeVCards{"alice@example.test": `<vCard xmlns='vcard-temp'><FN>Alice</FN><URL>sip:alice@pbx.test</URL></vCard>`}
	})
	h.s.mu.Lock()
	tok := h.s.tokenForLocked("standup", "bob@example.test")
	h.s.mu.Unlock()
	for _, tc := range []struct {
		name    string
		call    focus.CallFacts
		jid     string
		method  string
		refused bool
	}{
		{"token", focus.CallFacts{Room: "standup", Token: tok, From: "sip:x@y"}, "bob@example.test", "token", false},
		{"token of another room", focus.CallFacts{Room: "other", Token: tok}, "", "", true},
		{"unknown token", focus.CallFacts{Room: "standup", Token: "nope"}, "", "", true},
		{"verified hint", focus.CallFacts{Room: "standup", From: "<sip:alice@pbx.test>", IMPP: []string{"xmpp:alice@example.test"}}, "alice@example.test", "hint", false},
		{"unverified hint", focus.CallFacts{Room: "standup", From: "<sip:mallory@pbx.test>", IMPP: []string{"xmpp:alice@example.test"}}, "", "none", false},
		{"hint verified by directory", focus.CallFacts{Room: "standup", From: "sip:dave@corp.test", IMPP: []string{"xmpp:dave@corp.test"}}, "dave@corp.test", "hint", false},
		{"hint naming someone else than the directory", focus.CallFacts{Room: "standup", From: "sip:dave@corp.test", IMPP: []string{"xmpp:alice@example.test"}}, "dave@corp.test", "directory", false},
		{"directory", focus.CallFacts{Room: "standup", From: "sip:erin@corp.test"}, "erin@corp.test", "directory", false},
		{"anonymous", focus.CallFacts{Room: "standup", From: "sip:+15550100@trunk.test"}, "", "none", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jid, method, why := h.s.bind(context.Background(), tc.call)
			if (why != "") != tc.refused || jid != tc.jid || (!tc.refused && method != tc.method) {
				t.Errorf("bind = %q %q %q, want %q %q refused=%v", jid, method, why, tc.jid, tc.method, tc.refused)
			}
		})
	}
}

func TestTokenExpires(t *testing.T) {
	var now atomic.Int64
	now.Store(1_700_000_000)
	h := newHarness(t, func(c *Config) { c.Now = func() time.Time { return time.Unix(now.Load(), 0) }; c.TokenTTL = time.Hour })
	h.s.mu.Lock()
	tok := h.s.tokenForLocked("standup", "bob@example.test")
	again := h.s.tokenForLocked("standup", "bob@example.test")
	h.s.mu.Unlock()
	if tok != again {
		t.Fatalf("the same occupant got two tokens %q and %q", tok, again)
	}
	if adm := h.s.Admit(context.Background(), focus.CallFacts{Room: "standup", CallID: "c1", Token: tok}); adm.Verdict != focus.Accept {
		t.Fatalf("valid token refused: %+v", adm)
	}
	now.Add(7200)
	if adm := h.s.Admit(context.Background(), focus.CallFacts{Room: "standup", CallID: "c2", Token: tok}); adm.Verdict != focus.Forbidden {
		t.Fatalf("expired token admitted: %+v", adm)
	}
}

func TestAdmissionRules(t *testing.T) {
	h := newHarness(t, nil)
	h.chat.mu.Lock()
	r := h.chat.room("standup")
	r.affs["eve@example.test"] = store.AffiliationOutcast
	r.affs["mem@example.test"] = store.AffiliationMember
	h.chat.mu.Unlock()
	token := func(jid string) string {
		h.s.mu.Lock()
		defer h.s.mu.Unlock()
		return h.s.tokenForLocked("standup", jid)
	}
	for i, tc := range []struct {
		name       string
		cfg        store.RoomConfig
		jid        string // bound by token when set
		verdict    focus.Verdict
		muted, pin bool
	}{
		{"open room, anonymous", store.RoomConfig{}, "", focus.Accept, false, false},
		{"banned", store.RoomConfig{}, "eve@example.test", focus.Forbidden, false, false},
		{"members-only, anonymous", store.RoomConfig{MembersOnly: true}, "", focus.Forbidden, false, false},
		{"members-only, stranger", store.RoomConfig{MembersOnly: true}, "bob@example.test", focus.Forbidden, false, false},
		{"members-only, member", store.RoomConfig{MembersOnly: true}, "mem@example.test", focus.Accept, false, false},
		{"moderated, anonymous is a visitor", store.RoomConfig{Moderated: true}, "", focus.Accept, true, false},
		{"moderated, member has voice", store.RoomConfig{Moderated: true}, "mem@example.test", focus.Accept, false, false},
		{"password, anonymous keys a PIN", store.RoomConfig{PasswordProtected: true, Password: "1234"}, "", focus.Accept, true, true},
		{"password, token needs none", store.RoomConfig{PasswordProtected: true, Password: "1234"}, "bob@example.test", focus.Accept, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.chat.mu.Lock()
			r.cfg = tc.cfg
			h.chat.mu.Unlock()
			call := focus.CallFacts{Room: "standup", CallID: "call-" + string(rune('a'+i)), From: "sip:x@y"}
			if tc.jid != "" {
				call.Token = token(tc.jid)
			}
			adm := h.s.Admit(context.Background(), call)
			// Waiting for its PIN, a caller hears nothing of the room either.
			if adm.Verdict != tc.verdict || adm.Muted != tc.muted || adm.Deaf != tc.pin {
				t.Fatalf("Admit = %+v, want verdict %v muted %v deaf %v", adm, tc.verdict, tc.muted, tc.pin)
			}
			h.s.mu.Lock()
			l := h.s.legs[call.CallID]
			h.s.mu.Unlock()
			if tc.verdict == focus.Accept && (l.pin != nil) != tc.pin {
				t.Fatalf("pin pending = %v, want %v", l.pin != nil, tc.pin)
			}
		})
	}
}

func TestUnboundCallerIsAnAudioOccupantAndKickHangsUp(t *testing.T) {
	h := newHarness(t, nil)
	h.chat.join("standup", "mod", "mod@example.test", muc.RoleModerator)
	h.call(t, focus.CallFacts{Room: "standup", CallID: "c1", From: "sip:+15550100@trunk.test", DisplayName: "Dan"})
	h.settle(t)
	if p, ok := h.chat.phone("standup", "Dan"); !ok || p.Status != "on the phone (not encrypted)" || p.Media != "rtp" || p.Signalling != "plain" {
		t.Fatalf("no audio-only occupant Dan shown on a plain call: %+v %v", p, ok)
	}
	// Another caller with the same name gets a distinct nick.
	h.call(t, focus.CallFacts{Room: "standup", CallID: "c2", From: "sip:dan@x", DisplayName: "Dan"})
	h.settle(t)
	if _, ok := h.chat.phone("standup", "Dan (2)"); !ok {
		t.Fatal("second Dan not shown as Dan (2)")
	}
	// The moderator kicks the first one.
	h.chat.mu.Lock()
	delete(h.chat.rooms["standup"].occ, "Dan")
	h.chat.mu.Unlock()
	h.s.OnChatEvent(muc.Event{Kind: muc.EventKicked, Room: "standup", Nick: "Dan", AudioOnly: true, Status: []int{307}})
	h.settle(t)
	if !h.audio.wasKicked("c1") || h.audio.wasKicked("c2") {
		t.Fatalf("kicked %v, want c1 only", h.audio.kicked)
	}
	// The call ends: nothing left to remove for c1; c2 hangs up by itself.
	h.s.OnFocusEvent(focus.Event{Kind: focus.EventLeft, Room: "standup", CallID: "c1", Reason: "booted"})
	h.s.OnFocusEvent(focus.Event{Kind: focus.EventLeft, Room: "standup", CallID: "c2", Reason: "departed"})
	h.settle(t)
	if _, ok := h.chat.phone("standup", "Dan (2)"); ok {
		t.Fatal("Dan (2) still shown after hanging up")
	}
}

func TestVoiceFollowsRole(t *testing.T) {
	h := newHarness(t, nil)
	h.chat.join("standup", "mod", "mod@example.test", muc.RoleModerator)
	bob := h.chat.join("standup", "bob", "bob@example.test", muc.RoleParticipant)
	h.s.OnChatEvent(bob)
	h.settle(t)
	h.chat.mu.Lock()
	dm := strings.Join(h.chat.private, "\n")
	h.chat.mu.Unlock()
	i := strings.Index(dm, "sip:standup+")
	if i < 0 {
		t.Fatalf("bob got no dial-in: %q", dm)
	}
	uri := strings.Fields(dm[i:])[0]
	tok := strings.TrimSuffix(strings.TrimPrefix(uri, "sip:standup+"), "@sip.example.test")
	h.call(t, focus.CallFacts{Room: "standup", CallID: "b1", Token: tok, From: "sip:bob@pbx"})
	h.settle(t)
	if p, ok := h.chat.phone("standup", "bob"); !ok || p.Muted {
		t.Fatalf("bob's presence does not show his leg: %+v %v", p, ok)
	}
	for _, tc := range []struct {
		role  muc.Role
		muted bool
	}{{muc.RoleVisitor, true}, {muc.RoleParticipant, false}, {muc.RoleVisitor, true}, {muc.RoleModerator, false}} {
		h.s.OnChatEvent(muc.Event{Kind: muc.EventRoleChanged, Room: "standup", Nick: "bob", JID: "bob@example.test", Role: tc.role})
		h.settle(t)
		if h.audio.muted("b1") != tc.muted {
			t.Fatalf("role %s: leg muted %v, want %v", tc.role, h.audio.muted("b1"), tc.muted)
		}
		if p, _ := h.chat.phone("standup", "bob"); p.Muted != tc.muted {
			t.Fatalf("role %s: presence muted %v, want %v", tc.role, p.Muted, tc.muted)
		}
	}
	// Bob is on the call, so conference-info lists only the moderator as chat-only.
	h.audio.mu.Lock()
	users := h.audio.chat["standup"]
	h.audio.mu.Unlock()
	if len(users) != 1 || users[0].Entity != "xmpp:standup@conference.example.test/mod" || users[0].DisplayText != "mod (moderator)" {
		t.Fatalf("chat users = %+v", users)
	}
	// Ban: the leg ends, and the next call with the same token is refused.
	h.chat.mu.Lock()
	h.chat.rooms["standup"].affs["bob@example.test"] = store.AffiliationOutcast
	delete(h.chat.rooms["standup"].occ, "bob")
	h.chat.mu.Unlock()
	h.s.OnChatEvent(muc.Event{Kind: muc.EventBanned, Room: "standup", Nick: "bob", JID: "bob@example.test", Status: []int{301}})
	h.settle(t)
	if !h.audio.wasKicked("b1") {
		t.Fatal("banned bob's leg not hung up")
	}
	if adm := h.s.Admit(context.Background(), focus.CallFacts{Room: "standup", CallID: "b2", Token: tok}); adm.Verdict != focus.Forbidden {
		t.Fatalf("banned bob admitted again: %+v", adm)
	}
}

func TestDestroyClosesTheAudio(t *testing.T) {
	h := newHarness(t, nil)
	h.s.OnChatEvent(muc.Event{Kind: muc.EventRoomDestroyed, Room: "standup"})
	h.settle(t)
	h.audio.mu.Lock()
	defer h.audio.mu.Unlock()
	if len(h.audio.closed) != 1 || h.audio.closed[0] != "standup" {
		t.Fatalf("closed %v", h.audio.closed)
	}
}

func TestPIN(t *testing.T) {
	h := newHarness(t, nil)
	h.chat.mu.Lock()
	h.chat.room("standup").cfg = store.RoomConfig{PasswordProtected: true, Password: "42"}
	h.chat.mu.Unlock()
	adm := h.call(t, focus.CallFacts{Room: "standup", CallID: "p1", From: "sip:pat@x", DisplayName: "Pat"})
	if !adm.Muted || !adm.Deaf {
		t.Fatalf("PIN caller admitted %+v, want muted and deaf until the PIN", adm)
	}
	h.settle(t)
	if _, ok := h.chat.phone("standup", "Pat"); ok {
		t.Fatal("shown before the PIN")
	}
	for _, d := range "9#42#" {
		h.s.OnFocusEvent(focus.Event{Kind: focus.EventDTMF, Room: "standup", CallID: "p1", Digit: d})
	}
	h.settle(t)
	h.audio.mu.Lock()
	stillDeaf, told := h.audio.deaf["p1"]
	h.audio.mu.Unlock()
	if _, ok := h.chat.phone("standup", "Pat"); !ok || h.audio.muted("p1") || stillDeaf || !told {
		t.Fatalf("right PIN did not let Pat in (muted %v, deaf %v, told %v)", h.audio.muted("p1"), stillDeaf, told)
	}
	h.call(t, focus.CallFacts{Room: "standup", CallID: "p2", From: "sip:q@x"})
	for _, d := range "1#2#3#" {
		h.s.OnFocusEvent(focus.Event{Kind: focus.EventDTMF, Room: "standup", CallID: "p2", Digit: d})
	}
	h.settle(t)
	if !h.audio.wasKicked("p2") {
		t.Fatal("three wrong PINs did not end the call")
	}
}

func TestPhoneMessageAndSelfMute(t *testing.T) {
	h := newHarness(t, nil)
	h.call(t, focus.CallFacts{Room: "standup", CallID: "m1", From: "sip:+1555@x"})
	h.s.OnFocusEvent(focus.Event{Kind: focus.EventMessage, Room: "standup", CallID: "m1", Text: []byte("hello room"), ContentType: "text/plain"})
	h.audio.mu.Lock()
	h.audio.legs[0].SelfMuted = true
	h.audio.mu.Unlock()
	h.s.OnFocusEvent(focus.Event{Kind: focus.EventMute, Room: "standup", CallID: "m1", Muted: true, SelfMuted: true})
	h.settle(t)
	h.chat.mu.Lock()
	posted := strings.Join(h.chat.posted, "\n")
	h.chat.mu.Unlock()
	if posted != "standup/+1555: hello room" {
		t.Fatalf("posted %q", posted)
	}
	if p, _ := h.chat.phone("standup", "+1555"); !p.Muted || !strings.Contains(p.Status, "muted") {
		t.Fatalf("self-mute not shown: %+v", p)
	}
	// Groupchat reaches the SIP-only phones, not the bound ones.
	h.call(t, focus.CallFacts{Room: "standup", CallID: "m2", From: "sip:+1666@x"})
	h.s.mu.Lock()
	tok := h.s.tokenForLocked("standup", "bob@example.test")
	h.s.mu.Unlock()
	h.s.OnChatEvent(h.chat.join("standup", "bob", "bob@example.test", muc.RoleParticipant))
	h.call(t, focus.CallFacts{Room: "standup", CallID: "b1", Token: tok})
	h.s.OnChatEvent(muc.Event{Kind: muc.EventMessage, Room: "standup", Nick: "bob", JID: "bob@example.test", Body: "hi phones"})
	h.s.OnFocusEvent(focus.Event{Kind: focus.EventMessage, Room: "standup", CallID: "m2", Text: []byte("phone two here")})
	// An out-of-dialog MESSAGE is nobody's.
	h.s.OnFocusEvent(focus.Event{Kind: focus.EventMessage, Room: "standup", CallID: "stray", Text: []byte("spoof")})
	h.settle(t)
	waitUntil(t, "messages to phones", func() bool {
		h.audio.mu.Lock()
		defer h.audio.mu.Unlock()
		return len(h.audio.messages) == 3
	})
	h.audio.mu.Lock()
	got := strings.Join(h.audio.messages, "\n")
	h.audio.mu.Unlock()
	want := "m1: bob: hi phones\nm2: bob: hi phones\nm1: +1666: phone two here"
	if got != want {
		t.Fatalf("messages to phones:\n%s\nwant\n%s", got, want)
	}
	h.s.mu.Lock()
	_, stray := h.s.legs["stray"]
	h.s.mu.Unlock()
	if stray {
		t.Fatal("an out-of-dialog MESSAGE made a leg")
	}
}

func TestModeratedRoomSilencesPhones(t *testing.T) {
	h := newHarness(t, nil)
	h.call(t, focus.CallFacts{Room: "standup", CallID: "v1", From: "sip:vic@x"})
	h.settle(t)
	cfg := store.RoomConfig{Moderated: true}
	h.chat.mu.Lock()
	h.chat.rooms["standup"].cfg = cfg
	h.chat.mu.Unlock()
	h.s.OnChatEvent(muc.Event{Kind: muc.EventRoomConfigured, Room: "standup", Config: &cfg})
	waitUntil(t, "the phone muted", func() bool { return h.audio.muted("v1") })
}

func TestReconcile(t *testing.T) {
	h := newHarness(t, nil)
	h.chat.mu.Lock()
	h.chat.ready = false
	h.chat.mu.Unlock()
	// Serve looks at the link before each batch of work: once this batch
	// ran, it has seen the link down, so the link coming up below is a
	// change it reconciles on.
	h.settle(t)
	// While the link is down a call arrives unseen and the room bans its person.
	h.s.mu.Lock()
	tok := h.s.tokenForLocked("standup", "eve@example.test")
	h.s.mu.Unlock()
	h.audio.addLeg(focus.CallFacts{Room: "standup", CallID: "e1", Token: tok}, false)
	h.audio.addLeg(focus.CallFacts{Room: "standup", CallID: "v1", From: "sip:vic@x"}, false)
	h.chat.mu.Lock()
	r := h.chat.room("standup")
	r.affs["eve@example.test"] = store.AffiliationOutcast
	r.cfg.Moderated = true
	h.chat.ready = true
	h.chat.mu.Unlock()
	waitUntil(t, "reconciled", func() bool { return h.audio.wasKicked("e1") && h.audio.muted("v1") })
	if _, ok := h.chat.phone("standup", "vic"); !ok {
		t.Fatal("the phone was not shown after reconciling")
	}
}

func TestPruneForgetsCallsThatNeverConnected(t *testing.T) {
	var now atomic.Int64
	now.Store(1_700_000_000)
	h := newHarness(t, func(c *Config) { c.Now = func() time.Time { return time.Unix(now.Load(), 0) } })
	h.s.Admit(context.Background(), focus.CallFacts{Room: "standup", CallID: "lost"})
	h.call(t, focus.CallFacts{Room: "standup", CallID: "up"})
	h.settle(t)
	now.Add(300)
	h.s.do(func(context.Context) { h.s.prune() })
	h.settle(t)
	h.s.mu.Lock()
	_, lost := h.s.legs["lost"]
	_, up := h.s.legs["up"]
	h.s.mu.Unlock()
	if lost || !up {
		t.Fatalf("after prune: lost kept %v, connected kept %v", lost, up)
	}
}
