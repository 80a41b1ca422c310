package muc_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/store/bolt/bolttest"
)

// One Prosody serves every integration test of the package (each test takes
// its own component domain), which keeps the run short.
var shared struct {
	once sync.Once
	p    *muctest.Prosody
	err  error
	next atomic.Int32
}

const sharedComponents = 12

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.p != nil {
		shared.p.Close()
	}
	os.Exit(code)
}

// env is one test's slice of the shared Prosody: a component domain, a
// running service on it and a user-name prefix.
type env struct {
	t      *testing.T
	p      *muctest.Prosody
	domain string
	svc    *muc.Service
	stop   func()
	reg    *prometheus.Registry
	prefix string
}

func newEnv(t *testing.T, mod func(*muc.Config)) *env {
	t.Helper()
	testpeer.Integration(t)
	testpeer.Need(t, "prosody", "prosodyctl", "openssl")
	testpeer.NeedPythonModule(t, "slixmpp")
	shared.once.Do(func() {
		var comps []string
		for i := range sharedComponents {
			comps = append(comps, fmt.Sprintf("conference%d.example.test", i))
		}
		shared.p, shared.err = muctest.StartProsody(muctest.ProsodyConfig{Components: comps})
	})
	if shared.err != nil {
		t.Fatalf("starting the shared prosody: %v", shared.err)
	}
	n := int(shared.next.Add(1)) - 1
	if n >= sharedComponents {
		t.Fatalf("more integration tests than shared component domains (%d)", sharedComponents)
	}
	e := &env{t: t, p: shared.p, domain: fmt.Sprintf("conference%d.example.test", n), reg: prometheus.NewRegistry(), prefix: fmt.Sprintf("t%d", n)}
	cfg := muc.Config{SIPDomain: "127.0.0.1", Registerer: e.reg, Logger: testLogger(t)}
	st := bolttest.Open(t)
	cfg.Store = st
	if mod != nil {
		mod(&cfg)
	}
	e.svc, e.stop = muctest.StartService(t, e.p, e.domain, cfg)
	return e
}

func (e *env) client(user string) *muctest.Client {
	return muctest.NewClient(e.t, e.p, e.prefix+user, "res")
}

func (e *env) room(name string) string { return name + "@" + e.domain }

func isPresenceFrom(from string) func(*muctest.Stanza) bool {
	return func(s *muctest.Stanza) bool { return s.Name() == "presence" && s.Attr("from") == from }
}

func TestIntegrationJoinEchoDisco(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob := e.client("alice"), e.client("bob")
	room := e.room("standup")

	j := alice.Join(room, "Alice", muctest.JoinOptions{})
	if !j.OK {
		t.Fatalf("alice's join failed: %s %s", j.Error, j.Self.Raw)
	}
	for _, c := range []string{"110", "201"} {
		if !j.Self.HasStatus(c) {
			t.Errorf("self-presence lacks %s: %s", c, j.Self.Raw)
		}
	}

	info, err := bob.Disco(room)
	if err != nil {
		t.Fatalf("disco#info on the room: %v", err)
	}
	if v, ok := info.FieldValue(muc.FieldAudioVideoURI); !ok || v != "sip:standup@127.0.0.1" {
		t.Errorf("audio-video-uri = %q (present %v), want sip:standup@127.0.0.1: %s", v, ok, info.Raw)
	}
	if id := info.Find("", "identity"); id == nil || id.Attr("category") != "conference" || id.Attr("type") != "text" {
		t.Errorf("room identity wrong: %s", info.Raw)
	}

	j = bob.Join(room, "bob", muctest.JoinOptions{})
	if !j.OK || !slices.Contains(j.Occupants, "Alice") {
		t.Fatalf("bob's join: ok=%v occupants=%v err=%s", j.OK, j.Occupants, j.Error)
	}

	ma, mb := alice.Mark(), bob.Mark()
	bob.Send(`<message to='` + room + `' type='groupchat' id='hello1'><body>hello from bob</body></message>`)
	for _, c := range []*muctest.Client{alice, bob} {
		mark := ma
		if c == bob {
			mark = mb
		}
		m := c.WaitFor(mark, "groupchat echo", func(s *muctest.Stanza) bool {
			return s.Name() == "message" && s.Body() == "hello from bob"
		})
		if m.Attr("from") != room+"/bob" || m.Attr("id") != "hello1" {
			t.Errorf("%s got %s", c.JID, m.Raw)
		}
		if sid := m.Find("urn:xmpp:sid:0", "stanza-id"); sid == nil || sid.Attr("by") != room || sid.Attr("id") == "" {
			t.Errorf("%s: no stanza-id by the room: %s", c.JID, m.Raw)
		}
	}

	carol := e.client("carol")
	one := 1
	j = carol.Join(room, "carol", muctest.JoinOptions{MaxStanzas: &one})
	if !j.OK || len(j.History) != 1 || j.History[0] != "hello from bob" {
		t.Errorf("carol's history = %v (ok %v)", j.History, j.OK)
	}

	j = carol.Join(room, "ALICE", muctest.JoinOptions{})
	if j.OK || j.Error != "conflict" {
		t.Errorf("nick change onto ALICE: ok=%v err=%q, want conflict", j.OK, j.Error)
	}
	dave := e.client("dave")
	j = dave.Join(room, "alice", muctest.JoinOptions{})
	if j.OK || j.Error != "conflict" {
		t.Errorf("dave joining as alice: ok=%v err=%q, want conflict", j.OK, j.Error)
	}
	if !strings.Contains(j.Self.Raw, "conflict") {
		t.Errorf("conflict presence = %s", j.Self.Raw)
	}
}

func TestIntegrationSubjectPrivateInvite(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob, carol := e.client("alice"), e.client("bob"), e.client("carol")
	room := e.room("chat")
	if j := alice.Join(room, "alice", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("join: %s", j.Error)
	}
	if j := bob.Join(room, "bob", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("join: %s", j.Error)
	}

	// Subject: participants may not, moderators may; joiners receive it.
	mark := bob.Mark()
	bob.Send(`<message to='` + room + `' type='groupchat' id='s1'><subject>mine now</subject></message>`)
	if r := bob.WaitFor(mark, "subject refusal", func(s *muctest.Stanza) bool { return s.Attr("id") == "s1" && s.Attr("type") == "error" }); r.ErrorCondition() != "forbidden" {
		t.Errorf("participant subject change = %s", r.Raw)
	}
	mark = bob.Mark()
	alice.Send(`<message to='` + room + `' type='groupchat' id='s2'><subject>release planning</subject></message>`)
	bob.WaitFor(mark, "new subject", func(s *muctest.Stanza) bool {
		sub := s.Find("", "subject")
		return s.Name() == "message" && sub != nil && sub.Text == "release planning"
	})
	if j := carol.Join(room, "carol", muctest.JoinOptions{}); !j.OK || j.Subject != "release planning" {
		t.Errorf("carol's subject on join = %q (ok %v)", j.Subject, j.OK)
	}

	// A private message reaches only its target, from the sender's occupant JID.
	mark = bob.Mark()
	markCarol := carol.Mark()
	alice.Send(`<message to='` + room + `/bob' type='chat' id='pm1'><body>just for you</body></message>`)
	pm := bob.WaitFor(mark, "private message", func(s *muctest.Stanza) bool { return s.Body() == "just for you" })
	if pm.Attr("from") != room+"/alice" || pm.Find("http://jabber.org/protocol/muc#user", "x") == nil {
		t.Errorf("private message = %s", pm.Raw)
	}
	if _, leaked := carol.Poll(markCarol, 500*time.Millisecond, func(s *muctest.Stanza) bool { return s.Body() == "just for you" }); leaked {
		t.Errorf("a private message reached a third occupant")
	}

	// A mediated invitation arrives from the room, naming the inviter.
	dave := e.client("dave")
	mark = dave.Mark()
	alice.Send(`<message to='` + room + `'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='` + dave.JID + `'><reason>join us</reason></invite></x></message>`)
	inv := dave.WaitFor(mark, "invitation", func(s *muctest.Stanza) bool { return s.Find("", "invite") != nil })
	if inv.Attr("from") != room || inv.Find("", "invite").Attr("from") != alice.FullJID {
		t.Errorf("invitation = %s", inv.Raw)
	}

	// IQs between occupants are relayed: bob's slixmpp answers alice's ping
	// without either learning the other's real JID.
	if r := alice.IQ("pb", `<iq type='get' id='pb' to='`+room+`/bob'><ping xmlns='urn:xmpp:ping'/></iq>`); r.Attr("type") != "result" || r.Attr("from") != room+"/bob" {
		t.Errorf("relayed ping = %s", r.Raw)
	}

	// The metrics saw the traffic.
	if in, out := counter(t, e.reg, "bridge_muc_stanzas_in_total"), counter(t, e.reg, "bridge_muc_stanzas_out_total"); in < 5 || out < 10 {
		t.Errorf("stanzas in %v, out %v", in, out)
	}
	if n := counter(t, e.reg, "bridge_muc_occupants"); n != 3 {
		t.Errorf("bridge_muc_occupants = %v, want 3", n)
	}
	if n := counter(t, e.reg, "bridge_muc_link_up"); n != 1 {
		t.Errorf("bridge_muc_link_up = %v, want 1", n)
	}
}
