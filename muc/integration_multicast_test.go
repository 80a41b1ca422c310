package muc_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
)

// Multicast through the server (deploy/k8s/base/prosody-modules/mod_cusax_multicast.lua,
// loaded by the shared test Prosody): real clients must see exactly what
// the per-copy path gives them.

const (
	multicastStanzas = "bridge_muc_multicast_stanzas_total"
	multicastCopies  = "bridge_muc_multicast_copies_total"
)

// groupchatAll sends body from sender to room and waits until every client
// has it.
func groupchatAll(t *testing.T, room string, sender *muctest.Client, clients []*muctest.Client, id, body string) {
	t.Helper()
	marks := make([]int, len(clients))
	for i, c := range clients {
		marks[i] = c.Mark()
	}
	sender.Send(`<message to='` + room + `' type='groupchat' id='` + id + `'><body>` + body + `</body></message>`)
	for i, c := range clients {
		c.WaitFor(marks[i], "groupchat "+id, func(s *muctest.Stanza) bool { return s.Name() == "message" && s.Body() == body })
	}
}

// warmUpMulticast sends groupchat messages until the service has learnt
// (disco#info, asked on the first fan-out) that the server multicasts.
func warmUpMulticast(t *testing.T, reg *prometheus.Registry, room string, sender *muctest.Client, clients []*muctest.Client) {
	t.Helper()
	deadline := time.Now().Add(muctest.Timeout)
	for i := 0; counter(t, reg, multicastStanzas) == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no multicast stanza within %v: the server's disco#info answer never arrived or lacked %s", muctest.Timeout, muc.NSAddress)
		}
		groupchatAll(t, room, sender, clients, fmt.Sprintf("warm%d", i), fmt.Sprintf("warm-up %d", i))
	}
}

func TestIntegrationMulticast(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob, carol, dave := e.client("alice"), e.client("bob"), e.client("carol"), e.client("dave")
	room := e.room("multicast")
	inRoom := []*muctest.Client{alice, bob, carol}
	for i, c := range inRoom {
		if j := c.Join(room, fmt.Sprintf("n%d", i), muctest.JoinOptions{}); !j.OK {
			t.Fatalf("%s's join: %s", c.JID, j.Error)
		}
	}

	// The server advertises the feature the service looks for.
	requireServerFeature(t, alice, e.p.Domain, muc.NSAddress)

	warmUpMulticast(t, e.reg, room, alice, inRoom)

	// One groupchat: one multicast stanza carrying three copies, and each
	// occupant gets exactly one copy, addressed to it, from the sender's
	// occupant JID, with the payload and without the addresses element. A
	// client's own addresses element is not obeyed (dave is not in the
	// room) nor relayed.
	stanzas0, copies0 := counter(t, e.reg, multicastStanzas), counter(t, e.reg, multicastCopies)
	marks := make([]int, len(inRoom))
	for i, c := range inRoom {
		marks[i] = c.Mark()
	}
	markDave := dave.Mark()
	bob.Send(`<message to='` + room + `' type='groupchat' id='mc-1'><body>through the server &amp; back</body>` +
		`<addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='` + dave.FullJID + `'/></addresses></message>`)
	isIt := func(s *muctest.Stanza) bool { return s.Name() == "message" && s.Attr("id") == "mc-1" }
	for i, c := range inRoom {
		m := c.WaitFor(marks[i], "the multicast groupchat", isIt)
		if m.Attr("to") != c.FullJID || m.Attr("from") != room+"/n1" || m.Attr("type") != "groupchat" || m.Body() != "through the server & back" {
			t.Errorf("%s got %s", c.JID, m.Raw)
		}
		if m.Find(muc.NSAddress, "addresses") != nil {
			t.Errorf("%s got the addresses element: %s", c.JID, m.Raw)
		}
		if sid := m.Find("urn:xmpp:sid:0", "stanza-id"); sid == nil || sid.Attr("by") != room {
			t.Errorf("%s: no stanza-id by the room: %s", c.JID, m.Raw)
		}
	}
	if d, c := counter(t, e.reg, multicastStanzas)-stanzas0, counter(t, e.reg, multicastCopies)-copies0; d != 1 || c != 3 {
		t.Errorf("multicast stanzas/copies for one groupchat = %v/%v, want 1/3", d, c)
	}
	// Exactly once: a later message from the same room JID arrives after
	// any duplicate would have.
	groupchatAll(t, room, bob, inRoom, "mc-2", "after")
	for i, c := range inRoom {
		if n := c.Count(marks[i], isIt); n != 1 {
			t.Errorf("%s got the groupchat %d times", c.JID, n)
		}
	}

	// A user may not multicast: forbidden, and nothing delivered.
	mark := alice.Mark()
	alice.Send(`<message to='` + e.p.Domain + `' type='chat' id='spam1'><body>spam</body>` +
		`<addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='` + dave.FullJID + `'/><address type='bcc' jid='` + bob.JID + `'/></addresses></message>`)
	r := alice.WaitFor(mark, "the multicast refusal", func(s *muctest.Stanza) bool { return s.Attr("id") == "spam1" })
	if r.ErrorCondition() != "forbidden" {
		t.Errorf("multicast from a user answered %s, want forbidden", r.Raw)
	}
	markBob := bob.Mark()
	alice.Send(`<message to='` + dave.FullJID + `' type='chat' id='marker'><body>marker</body></message>`)
	dave.WaitFor(markDave, "alice's marker", func(s *muctest.Stanza) bool { return s.Body() == "marker" })
	if n := dave.Count(markDave, func(s *muctest.Stanza) bool { return s.Body() == "spam" || s.Attr("id") == "mc-1" }); n != 0 {
		t.Errorf("dave received %d stanzas he was never sent to through multicast", n)
	}
	if n := bob.Count(markBob, func(s *muctest.Stanza) bool { return s.Body() == "spam" }); n != 0 {
		t.Errorf("bob received the user's multicast")
	}
}

// TestIntegrationMulticastAbsent runs against a Prosody without the module:
// the service learns it is absent and every copy goes by itself.
func TestIntegrationMulticastAbsent(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody", "prosodyctl", "openssl")
	testpeer.NeedPythonModule(t, "slixmpp")
	p := muctest.NewProsody(t, muctest.ProsodyConfig{NoMulticast: true})
	reg := prometheus.NewRegistry()
	muctest.StartService(t, p, p.Components[0], muc.Config{Registerer: reg, Logger: testLogger(t)})
	room := "plain@" + p.Components[0]
	var clients []*muctest.Client
	for i := range 3 {
		c := muctest.NewClient(t, p, fmt.Sprintf("plain%d", i), "res")
		if j := c.Join(room, fmt.Sprintf("p%d", i), muctest.JoinOptions{}); !j.OK {
			t.Fatalf("%s's join: %s", c.JID, j.Error)
		}
		clients = append(clients, c)
	}
	info, err := clients[0].Disco(p.Domain)
	if err != nil {
		t.Fatalf("disco#info on the server: %v", err)
	}
	for _, f := range info.FindAll("feature") {
		if f.Attr("var") == muc.NSAddress {
			t.Fatalf("the server without the module advertises %s", muc.NSAddress)
		}
	}
	// The first fan-out asks the server (the only iq the service sends
	// meanwhile); the next ones know the answer.
	iqs0 := iqsOut(t, reg)
	for i := range 3 {
		groupchatAll(t, room, clients[i], clients, fmt.Sprintf("plain%d", i), fmt.Sprintf("plain message %d", i))
	}
	if n := counter(t, reg, multicastStanzas); n != 0 {
		t.Errorf("%v multicast stanzas sent to a server without the module", n)
	}
	if n := iqsOut(t, reg) - iqs0; n != 1 {
		t.Errorf("the service sent %v iqs during three fan-outs, want 1 disco#info query", n)
	}
}

// iqsOut is bridge_muc_stanzas_out_total{kind="iq"}.
func iqsOut(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "bridge_muc_stanzas_out_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == "iq" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// rawComponent is a hand-driven XEP-0114 connection, so the test can send
// the multicast module what the service never would.
type rawComponent struct {
	conn net.Conn
	dec  *xml.Decoder
}

func dialRawComponent(t *testing.T, p *muctest.Prosody, domain string) *rawComponent {
	t.Helper()
	conn, err := net.DialTimeout("tcp", p.ComponentAddr, muctest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(muctest.Timeout))
	c := &rawComponent{conn: conn, dec: xml.NewDecoder(conn)}
	c.write(t, `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='`+domain+`'>`)
	id := ""
	for id == "" {
		tok, err := c.dec.Token()
		if err != nil {
			t.Fatalf("reading the component stream header: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok && s.Name.Local == "stream" {
			for _, a := range s.Attr {
				if a.Name.Local == "id" {
					id = a.Value
				}
			}
			if id == "" {
				t.Fatal("the component stream header has no id")
			}
		}
	}
	sum := sha1.Sum([]byte(id + p.ComponentSecret))
	c.write(t, `<handshake>`+hex.EncodeToString(sum[:])+`</handshake>`)
	if n := c.next(t); n.XMLName.Local != "handshake" {
		t.Fatalf("component handshake answered with %s", n.XMLName.Local)
	}
	return c
}

func (c *rawComponent) write(t *testing.T, s string) {
	t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		t.Fatalf("writing to the component link: %v", err)
	}
}

// next reads the next top-level element.
func (c *rawComponent) next(t *testing.T) muctest.Node {
	t.Helper()
	for {
		tok, err := c.dec.Token()
		if err != nil {
			t.Fatalf("reading from the component link: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			var n muctest.Node
			if err := c.dec.DecodeElement(&n, &s); err != nil {
				t.Fatalf("reading from the component link: %v", err)
			}
			return n
		}
	}
}

// TestIntegrationMulticastModuleRules drives the module from a raw
// component: bcc multicast is delivered once to each address, and a stanza
// with a non-bcc address or an invalid JID is refused whole.
func TestIntegrationMulticastModuleRules(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody", "prosodyctl", "openssl")
	testpeer.NeedPythonModule(t, "slixmpp")
	const domain = "raw.example.test"
	p := muctest.NewProsody(t, muctest.ProsodyConfig{Components: []string{domain}})
	alice, bob := muctest.NewClient(t, p, "ralice", "res"), muctest.NewClient(t, p, "rbob", "res")
	c := dialRawComponent(t, p, domain)
	ma, mb := alice.Mark(), bob.Mark()

	multicast := func(id string, addrs ...string) string {
		return `<message from='bot@` + domain + `' to='` + p.Domain + `' id='` + id + `'><body>` + id + `</body>` +
			`<addresses xmlns='http://jabber.org/protocol/address'>` + strings.Join(addrs, "") + `</addresses></message>`
	}
	bccTo := func(j string) string { return `<address type='bcc' jid='` + j + `'/>` }
	for _, tc := range []struct{ id, stanza, cond string }{
		{"cc", multicast("cc", bccTo(alice.FullJID), `<address type='cc' jid='`+bob.FullJID+`'/>`), "feature-not-implemented"},
		{"badjid", multicast("badjid", bccTo(alice.FullJID), bccTo("us er@"+p.Domain)), "jid-malformed"},
	} {
		c.write(t, tc.stanza)
		n := c.next(t)
		if n.Attr("id") != tc.id || n.ErrorCondition() != tc.cond {
			t.Errorf("%s: the server answered %+v, want a %s error", tc.id, n, tc.cond)
		}
	}
	c.write(t, multicast("ok", bccTo(alice.FullJID), bccTo(bob.JID)))
	for _, cl := range []*muctest.Client{alice, bob} {
		mark := ma
		if cl == bob {
			mark = mb
		}
		m := cl.WaitFor(mark, "the multicast message", func(s *muctest.Stanza) bool { return s.Body() == "ok" })
		if m.Attr("from") != "bot@"+domain || m.Find(muc.NSAddress, "addresses") != nil || !strings.HasPrefix(m.Attr("to"), cl.JID) {
			t.Errorf("%s got %s", cl.JID, m.Raw)
		}
		// Refused stanzas were written before: had they been delivered,
		// they would be here by now.
		if n := cl.Count(mark, func(s *muctest.Stanza) bool { return s.Body() == "cc" || s.Body() == "badjid" }); n != 0 {
			t.Errorf("%s received %d refused multicast stanzas", cl.JID, n)
		}
	}
	// A copy that cannot be delivered bounces back to the sender, as a
	// copy sent by itself would (the service relies on that to drop
	// occupants who are gone).
	c.write(t, `<message from='bot@`+domain+`' to='`+p.Domain+`' type='groupchat' id='gone'><body>gone</body>`+
		`<addresses xmlns='http://jabber.org/protocol/address'>`+bccTo(bob.JID+"/gone")+`</addresses></message>`)
	if n := c.next(t); n.Attr("id") != "gone" || n.Attr("from") != bob.JID+"/gone" || n.Attr("to") != "bot@"+domain || n.ErrorCondition() != "service-unavailable" {
		t.Errorf("a copy to an absent resource bounced as %+v, want service-unavailable from it", n)
	}
	// Every copy goes through the server's message handlers, as one sent
	// by itself would: one to a user who blocked the sender (XEP-0191,
	// mod_blocklist) is dropped, the others arrive.
	if r := bob.IQ("block", `<iq type='set' id='block'><block xmlns='urn:xmpp:blocking'><item jid='bot@`+domain+`'/></block></iq>`); r.Attr("type") != "result" {
		t.Fatalf("blocking the component's sender: %s", r.Raw)
	}
	mb = bob.Mark()
	c.write(t, `<message from='bot@`+domain+`' to='`+p.Domain+`' type='groupchat' id='blocked'><body>blocked</body>`+
		`<addresses xmlns='http://jabber.org/protocol/address'>`+bccTo(alice.FullJID)+bccTo(bob.FullJID)+`</addresses></message>`)
	alice.WaitFor(ma, "the message bob blocked", func(s *muctest.Stanza) bool { return s.Body() == "blocked" })
	c.write(t, `<message from='`+domain+`' to='`+bob.FullJID+`'><body>unblocked sender</body></message>`)
	bob.WaitFor(mb, "a later message from an unblocked sender", func(s *muctest.Stanza) bool { return s.Body() == "unblocked sender" })
	if n := bob.Count(mb, func(s *muctest.Stanza) bool { return s.Body() == "blocked" }); n != 0 {
		t.Errorf("bob received %d copies from the sender he blocked", n)
	}
	// Exactly once: a later message from the same sender comes after any
	// duplicate.
	c.write(t, `<message from='bot@`+domain+`' to='`+alice.FullJID+`'><body>after</body></message>`)
	alice.WaitFor(ma, "the later message", func(s *muctest.Stanza) bool { return s.Body() == "after" })
	if n := alice.Count(ma, func(s *muctest.Stanza) bool { return s.Body() == "ok" }); n != 1 {
		t.Errorf("alice got the multicast message %d times", n)
	}
}

const (
	multicastListStanzas = "bridge_muc_multicast_list_stanzas_total"
	multicastListMisses  = "bridge_muc_multicast_list_misses_total"
)

// groupchatBodies lists, in arrival order, the bodies of the live (not
// history) groupchat messages c received after mark whose body starts with
// prefix.
func groupchatBodies(c *muctest.Client, mark int, prefix string) []string {
	var got []string
	c.Count(mark, func(s *muctest.Stanza) bool {
		if s.Name() == "message" && s.Attr("type") == "groupchat" && strings.HasPrefix(s.Body(), prefix) && s.Find("urn:xmpp:delay", "delay") == nil {
			got = append(got, s.Body())
		}
		return false
	})
	return got
}

// listStep sends one groupchat and checks how it went to the server:
// wantList is how many stanzas named a stored list instead of carrying
// addresses (0: the full list went).
func listStep(t *testing.T, reg *prometheus.Registry, room string, sender *muctest.Client, clients []*muctest.Client, body string, wantList float64) {
	t.Helper()
	l0 := counter(t, reg, multicastListStanzas)
	groupchatAll(t, room, sender, clients, body, body)
	if d := counter(t, reg, multicastListStanzas) - l0; d != wantList {
		t.Errorf("%s: %v stanzas named the recipient list, want %v", body, d, wantList)
	}
}

// TestIntegrationMulticastLists runs the recipient lists against the real
// module: stored on first use, reused, replaced when someone joins or
// leaves, and refused once the server has lost them (evicted here by
// another component's lists), after which the copies still arrive once
// each, in order, and the full list goes again.
func TestIntegrationMulticastLists(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody", "prosodyctl", "openssl")
	testpeer.NeedPythonModule(t, "slixmpp")
	p := muctest.NewProsody(t, muctest.ProsodyConfig{Components: []string{"lists.example.test", "flood.example.test"}})
	reg := prometheus.NewRegistry()
	muctest.StartService(t, p, p.Components[0], muc.Config{Registerer: reg, Logger: testLogger(t)})
	room := "lists@" + p.Components[0]
	var clients []*muctest.Client
	for _, u := range []string{"lalice", "lbob", "lcarol", "ldave"} {
		clients = append(clients, muctest.NewClient(t, p, u, "res"))
	}
	alice, bob, dave := clients[0], clients[1], clients[3]
	inRoom := clients[:3]
	for i, c := range inRoom {
		if j := c.Join(room, fmt.Sprintf("n%d", i), muctest.JoinOptions{}); !j.OK {
			t.Fatalf("%s's join: %s", c.JID, j.Error)
		}
	}
	requireServerFeature(t, alice, p.Domain, muc.NSList)
	// The message that makes the first multicast stanza stores the list.
	warmUpMulticast(t, reg, room, alice, inRoom)
	marks := make([]int, len(clients))
	for i, c := range clients {
		marks[i] = c.Mark()
	}
	listStep(t, reg, room, alice, inRoom, "l1", 1)
	listStep(t, reg, room, bob, inRoom, "l2", 1)

	// dave joins: the list changes, and he gets the next messages.
	if j := dave.Join(room, "n3", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("dave's join: %s", j.Error)
	}
	listStep(t, reg, room, alice, clients, "l3", 0)
	listStep(t, reg, room, alice, clients, "l4", 1)

	// bob leaves: he gets nothing more.
	bob.Send(`<presence to='` + room + `/n1' type='unavailable'/>`)
	bob.WaitFor(marks[1], "bob's leaving", func(s *muctest.Stanza) bool { return s.Name() == "presence" && s.Attr("type") == "unavailable" })
	stayers := []*muctest.Client{alice, clients[2], dave}
	listStep(t, reg, room, alice, stayers, "l5", 0)
	listStep(t, reg, room, alice, stayers, "l6", 1)

	// Another component stores 10,000 lists (the module's default bound)
	// of one recipient who does not exist (headlines to them are dropped),
	// which evicts the room's list; a ping answered after them says the
	// server has handled them all.
	raw := dialRawComponent(t, p, p.Components[1])
	var flood strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&flood, `<message from='%s' to='%s' type='headline'><body>f</body><addresses xmlns='%s'><address type='bcc' jid='nobody@%s'/></addresses><list xmlns='%s' id='f%d' v='1'/></message>`,
			p.Components[1], p.Domain, muc.NSAddress, p.Domain, muc.NSList, i)
	}
	flood.WriteString(`<iq type='get' id='flooded' from='` + p.Components[1] + `' to='` + p.Domain + `'><ping xmlns='urn:xmpp:ping'/></iq>`)
	raw.conn.SetDeadline(time.Now().Add(2 * muctest.Timeout))
	raw.write(t, flood.String())
	for {
		if n := raw.next(t); n.Attr("id") == "flooded" {
			if n.Attr("type") != "result" {
				t.Fatalf("the ping after the flood was answered %+v", n)
			}
			break
		} else if n.Name() == "message" {
			t.Fatalf("a flood stanza was refused: %+v", n)
		}
	}

	// The module's rules for lists: one component cannot use another's
	// (lists are kept per component host), a list needs an id and a
	// version, and users may not name one.
	for _, tc := range []struct{ id, list, cond string }{
		{"other", `<list xmlns='` + muc.NSList + `' id='` + room + `' v='1'/>`, "item-not-found"},
		{"nov", `<list xmlns='` + muc.NSList + `' id='f1'/>`, "bad-request"},
	} {
		raw.write(t, `<message from='`+p.Components[1]+`' to='`+p.Domain+`' type='headline' id='`+tc.id+`'><body>x</body>`+tc.list+`</message>`)
		if n := raw.next(t); n.Attr("id") != tc.id || n.ErrorCondition() != tc.cond {
			t.Errorf("%s: the server answered %+v, want %s", tc.id, n, tc.cond)
		}
	}
	mark := alice.Mark()
	alice.Send(`<message to='` + p.Domain + `' id='userlist'><body>x</body><list xmlns='` + muc.NSList + `' id='f1' v='1'/></message>`)
	if r := alice.WaitFor(mark, "the list refusal", func(s *muctest.Stanza) bool { return s.Attr("id") == "userlist" }); r.ErrorCondition() != "forbidden" {
		t.Errorf("a list from a user answered %s, want forbidden", r.Raw)
	}

	// The next message names the lost list: refused, resent as copies.
	misses0 := counter(t, reg, multicastListMisses)
	listStep(t, reg, room, alice, stayers, "l7", 1)
	deadline := time.Now().Add(muctest.Timeout)
	for counter(t, reg, multicastListMisses) == misses0 {
		if time.Now().After(deadline) {
			t.Fatal("the server never refused the evicted list")
		}
		time.Sleep(20 * time.Millisecond)
	}
	listStep(t, reg, room, alice, stayers, "l8", 0)
	listStep(t, reg, room, alice, stayers, "l9", 1)
	if n := counter(t, reg, "bridge_muc_multicast_refused_total"); n != 1 {
		t.Errorf("%v multicast stanzas refused, want the one naming the lost list", n)
	}

	// Everyone got each message once, in order; bob nothing after he left,
	// dave nothing before he joined.
	for i, c := range clients {
		want := []string{"l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9"}
		switch c {
		case bob:
			want = want[:4]
		case dave:
			want = want[2:]
		}
		if got := groupchatBodies(c, marks[i], "l"); !slices.Equal(got, want) {
			t.Errorf("%s got %q, want %q", c.JID, got, want)
		}
	}
}

// TestIntegrationMulticastListsRestart restarts Prosody, which forgets
// every list: the service, which lost the link, starts over with full
// lists, and nothing is lost or doubled.
func TestIntegrationMulticastListsRestart(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody", "prosodyctl", "openssl")
	testpeer.NeedPythonModule(t, "slixmpp")
	p := muctest.NewProsody(t, muctest.ProsodyConfig{})
	reg := prometheus.NewRegistry()
	svc, _ := muctest.StartService(t, p, p.Components[0], muc.Config{Registerer: reg, Logger: testLogger(t)})
	room := "restart@" + p.Components[0]
	join := func(prefix string) []*muctest.Client {
		var cs []*muctest.Client
		for i := range 2 {
			c := muctest.NewClient(t, p, fmt.Sprintf("%s%d", prefix, i), "res")
			if j := c.Join(room, fmt.Sprintf("%s%d", prefix, i), muctest.JoinOptions{}); !j.OK {
				t.Fatalf("%s's join: %s", c.JID, j.Error)
			}
			cs = append(cs, c)
		}
		return cs
	}
	before := join("rb")
	warmUpMulticast(t, reg, room, before[0], before)
	listStep(t, reg, room, before[0], before, "r1", 1)

	if err := p.Restart(); err != nil {
		t.Fatalf("restarting prosody: %v", err)
	}
	deadline := time.Now().Add(muctest.Timeout)
	for counter(t, reg, "bridge_muc_reconnects_total") < 1 || !svc.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("no reconnect after the prosody restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := join("ra")
	marks := []int{after[0].Mark(), after[1].Mark()}
	// Discovery again (the link is new), then the full list, then its name.
	s0 := counter(t, reg, multicastStanzas)
	for i := 0; counter(t, reg, multicastStanzas) == s0; i++ {
		if i > 100 {
			t.Fatal("no multicast after the restart")
		}
		groupchatAll(t, room, after[0], after, fmt.Sprintf("rw%d", i), fmt.Sprintf("r-warm %d", i))
	}
	listStep(t, reg, room, after[0], after, "r2", 1)
	if n := counter(t, reg, multicastListMisses); n != 0 {
		t.Errorf("%v stanzas named a list the restarted server never had", n)
	}
	for i, c := range after {
		got := groupchatBodies(c, marks[i], "r")
		if len(got) == 0 || got[len(got)-1] != "r2" || slices.Index(got, "r2") != len(got)-1 {
			t.Errorf("%s got %q", c.JID, got)
		}
		seen := map[string]bool{}
		for _, b := range got {
			if seen[b] {
				t.Errorf("%s got %q twice", c.JID, b)
			}
			seen[b] = true
		}
	}
}

// requireServerFeature fails the test unless domain's disco#info, asked by
// c, lists feature.
func requireServerFeature(t *testing.T, c *muctest.Client, domain, feature string) {
	t.Helper()
	info, err := c.Disco(domain)
	if err != nil {
		t.Fatalf("disco#info on the server: %v", err)
	}
	for _, f := range info.FindAll("feature") {
		if f.Attr("var") == feature {
			return
		}
	}
	t.Fatalf("the server does not advertise %s: %s", feature, info.Raw)
}
