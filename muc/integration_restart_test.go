package muc_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/store/bolt"
)

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				if m.Counter != nil {
					sum += m.Counter.GetValue()
				} else if m.Gauge != nil {
					sum += m.Gauge.GetValue()
				}
			}
			return sum
		}
	}
	return 0
}

// checkPersisted asserts that the room kept its configuration and
// affiliations, as seen by a fresh client.
func checkPersisted(t *testing.T, c *muctest.Client, room, member string) {
	t.Helper()
	info, err := c.Disco(room)
	if err != nil {
		t.Fatalf("disco#info on the persistent room: %v", err)
	}
	if id := info.Find("", "identity"); id == nil || id.Attr("name") != "Kept room" {
		t.Errorf("room name lost: %s", info.Raw)
	}
	if v, _ := info.FieldValue("muc#roominfo_description"); v != "survives restarts" {
		t.Errorf("description lost: %s", info.Raw)
	}
	if j := c.Join(room, "owner", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("owner rejoin failed: %s", j.Error)
	} else if it := j.Self.Find("", "item"); it == nil || it.Attr("affiliation") != "owner" {
		t.Errorf("owner affiliation lost: %s", j.Self.Raw)
	}
	list := c.IQ("ml", `<iq type='get' id='ml' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`)
	if it := list.Find("", "item"); it == nil || it.Attr("jid") != member {
		t.Errorf("member list lost: %s", list.Raw)
	}
	ban := c.IQ("bl", `<iq type='get' id='bl' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>`)
	if it := ban.Find("", "item"); it == nil || it.Attr("jid") != "troll@example.test" {
		t.Errorf("ban list lost: %s", ban.Raw)
	}
}

func TestIntegrationRestarts(t *testing.T) {
	testpeer.Integration(t)
	p := muctest.NewProsody(t, muctest.ProsodyConfig{})
	comp := p.Components[0]
	dbPath := filepath.Join(t.TempDir(), "bridge.db")
	st, err := bolt.Open(bolt.Config{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	svc, stop := muctest.StartService(t, p, comp, muc.Config{Store: st, Registerer: reg, SIPDomain: "127.0.0.1", Logger: testLogger(t)})
	room := "keep@" + comp

	owner := muctest.NewClient(t, p, "owner", "a")
	if j := owner.Join(room, "owner", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("join: %s", j.Error)
	}
	r := owner.IQ("c1", `<iq type='set' id='c1' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='muc#roomconfig_persistentroom'><value>1</value></field>`+
		`<field var='muc#roomconfig_roomname'><value>Kept room</value></field>`+
		`<field var='muc#roomconfig_roomdesc'><value>survives restarts</value></field></x></query></iq>`)
	if r.Attr("type") != "result" {
		t.Fatalf("making the room persistent: %s", r.Raw)
	}
	for _, item := range []string{`<item jid='member@example.test' affiliation='member'/>`, `<item jid='troll@example.test' affiliation='outcast'/>`} {
		if r := owner.IQ("a1", adminIQ("a1", room, item)); r.Attr("type") != "result" {
			t.Fatalf("affiliation %s: %s", item, r.Raw)
		}
	}
	owner.Close()

	// The XMPP server restarts: the component notices and reconnects alone.
	if err := p.Restart(); err != nil {
		t.Fatalf("restarting prosody: %v", err)
	}
	deadline := time.Now().Add(muctest.Timeout)
	for counter(t, reg, "bridge_muc_reconnects_total") < 1 || !svc.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect after the prosody restart (reconnects %v, ready %v)", counter(t, reg, "bridge_muc_reconnects_total"), svc.Ready())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stayer := muctest.NewClient(t, p, "owner", "b")
	checkPersisted(t, stayer, room, "member@example.test")

	// The bridge restarts: a new service over the same store file.
	stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2, err := bolt.Open(bolt.Config{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	muctest.StartService(t, p, comp, muc.Config{Store: st2, Registerer: prometheus.NewRegistry(), SIPDomain: "127.0.0.1", Logger: testLogger(t)})
	// A client that stayed connected learns through XEP-0410 self-ping that
	// the room no longer knows it, which is its cue to rejoin.
	if r := stayer.IQ("sp", `<iq type='get' id='sp' to='`+room+`/owner'><ping xmlns='urn:xmpp:ping'/></iq>`); r.ErrorCondition() != "not-acceptable" {
		t.Errorf("self-ping after the bridge restart = %s, want not-acceptable", r.Raw)
	}
	stayer.Close()
	checkPersisted(t, muctest.NewClient(t, p, "owner", "c"), room, "member@example.test")
}

func TestIntegrationShutdown332(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.client("alice")
	room := e.room("bye")
	if j := alice.Join(room, "alice", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("join: %s", j.Error)
	}
	mark := alice.Mark()
	ctx, cancel := context.WithTimeout(context.Background(), muctest.Timeout)
	defer cancel()
	if err := e.svc.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	bye := alice.WaitFor(mark, "shutdown presence", isPresenceFrom(room+"/alice"))
	if bye.Attr("type") != "unavailable" || !bye.HasStatus("332") || !bye.HasStatus("110") {
		t.Errorf("shutdown presence = %s", bye.Raw)
	}
	e.stop()
	if e.svc.Ready() {
		t.Errorf("Ready after Shutdown")
	}
}

func TestIntegrationAudioOccupant(t *testing.T) {
	var events []muc.Event
	evc := make(chan muc.Event, 64)
	e := newEnv(t, func(c *muc.Config) { c.OnEvent = func(ev muc.Event) { evc <- ev } })
	alice := e.client("alice")
	room := e.room("call")
	if j := alice.Join(room, "alice", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("join: %s", j.Error)
	}
	mark := alice.Mark()
	ctx := context.Background()
	if err := e.svc.AddAudioOccupant(ctx, "call", "+1 555 0100", muc.PhonePresence{Status: "on the phone"}); err != nil {
		t.Fatal(err)
	}
	p := alice.WaitFor(mark, "phone leg presence", isPresenceFrom(room+"/+1 555 0100"))
	if p.Find(muc.NSBridge, "phone") == nil || p.Find("", "status") == nil || p.Find("", "status").Text != "on the phone" {
		t.Errorf("phone leg presence = %s", p.Raw)
	}
	// A moderator kicks the phone leg like anyone else; sync hears of it.
	if r := alice.IQ("k", adminIQ("k", room, `<item nick='+1 555 0100' role='none'/>`)); r.Attr("type") != "result" {
		t.Fatalf("kicking the phone leg: %s", r.Raw)
	}
	deadline := time.After(muctest.Timeout)
	for {
		select {
		case ev := <-evc:
			events = append(events, ev)
			if ev.Kind == muc.EventKicked && ev.AudioOnly && ev.Nick == "+1 555 0100" {
				return
			}
		case <-deadline:
			t.Fatalf("no kicked event for the phone leg; events: %+v", events)
		}
	}
}
