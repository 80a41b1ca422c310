package muc

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// multicastHarness is a harness whose link counts as up (discovery only
// runs then) and whose clock the test moves.
func multicastHarness(t *testing.T, mod func(*Config)) (*harness, *time.Time) {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := newHarness(t, func(c *Config) {
		c.Now = func() time.Time { return now }
		if mod != nil {
			mod(c)
		}
	})
	h.s.ready.Store(true)
	return h, &now
}

// discoQueries returns the disco#info queries in out, by recipient.
func discoQueries(out []*element) map[string]string {
	q := map[string]string{}
	for _, e := range out {
		if e.Name.Local == "iq" && e.child(nsDiscoInfo, "query") != nil {
			q[e.attr("to")] = e.attr("id")
		}
	}
	return q
}

// answerDisco feeds the server's disco#info result, with or without the
// multicast feature.
func answerDisco(h *harness, from, id string, multicast bool) {
	h.t.Helper()
	f := `<feature var='http://jabber.org/protocol/disco#info'/>`
	if multicast {
		f += `<feature var='http://jabber.org/protocol/address'/>`
	}
	if out := h.in(`<iq type='result' from='` + from + `' to='` + testDomain + `' id='` + id + `'><query xmlns='http://jabber.org/protocol/disco#info'>` + f + `</query></iq>`); len(out) != 0 {
		h.t.Fatalf("the disco#info answer was answered: %v", out)
	}
}

// messages returns the groupchat messages in out.
func messages(out []*element) []*element {
	var m []*element
	for _, e := range out {
		if e.Name.Local == "message" {
			m = append(m, e)
		}
	}
	return m
}

// bcc returns the addresses a multicast stanza carries.
func bcc(e *element) []string {
	a := e.child(NSAddress, "addresses")
	if a == nil {
		return nil
	}
	var out []string
	for _, c := range a.children() {
		if c.attr("type") != "bcc" {
			return append(out, "not bcc: "+c.String())
		}
		out = append(out, c.attr("jid"))
	}
	return out
}

func TestFanOutMulticastByDomain(t *testing.T) {
	h, _ := multicastHarness(t, nil)
	// Three users at example.test (one with a resource XML must escape),
	// one at solo.test, two at plain.test whose server has no multicast.
	users := []struct{ jid, nick string }{
		{"alice@example.test/a", "alice"},
		{"bob@example.test/b'&<x>", "bob"},
		{"carol@example.test/c", "carol"},
		{"sam@solo.test/s", "sam"},
		{"pat@plain.test/p", "pat"},
		{"pia@plain.test/q", "pia"},
	}
	esc := strings.NewReplacer("&", "&amp;", "'", "&apos;", "<", "&lt;", ">", "&gt;")
	for _, u := range users {
		h.join(esc.Replace(u.jid), u.nick)
	}
	send := `<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='g%d'><body>hi &amp; bye</body>` +
		`<addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='eve@example.test/e'/></addresses></message>`

	// First fan-out: copies one by one, and one query per domain.
	out := h.in(fmt.Sprintf(send, 1))
	if n := len(messages(out)); n != len(users) {
		t.Fatalf("first fan-out sent %d messages, want %d copies", n, len(users))
	}
	q := discoQueries(out)
	if len(q) != 3 || q["example.test"] == "" || q["solo.test"] == "" || q["plain.test"] == "" {
		t.Fatalf("disco#info queries = %v, want one to each of the 3 domains", q)
	}
	for _, e := range out {
		if e.Name.Local == "iq" && e.attr("from") != testDomain {
			t.Errorf("query from %q, want the component domain", e.attr("from"))
		}
	}
	// A second fan-out before the answers: still copies, no new queries.
	out = h.in(fmt.Sprintf(send, 2))
	if len(discoQueries(out)) != 0 || len(messages(out)) != len(users) {
		t.Fatalf("fan-out while asking: %d queries, %d messages", len(discoQueries(out)), len(messages(out)))
	}

	// An answer from someone else is not taken.
	if out := h.in(`<iq type='result' from='mallory@example.test/m' to='` + testDomain + `' id='` + q["example.test"] + `'><query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/address'/></query></iq>`); len(out) != 0 {
		t.Fatalf("a stray result was answered: %v", out)
	}
	if h.s.mcast.domains["example.test"].supported {
		t.Fatal("a result from another JID marked example.test as supporting multicast")
	}
	answerDisco(h, "example.test", q["example.test"], true)
	answerDisco(h, "solo.test", q["solo.test"], true)
	answerDisco(h, "plain.test", q["plain.test"], false)

	out = h.in(fmt.Sprintf(send, 3))
	msgs := messages(out)
	var mc []*element
	var copies []string
	for _, m := range msgs {
		if m.child(NSAddress, "addresses") != nil {
			mc = append(mc, m)
		} else {
			copies = append(copies, m.attr("to"))
		}
	}
	if len(mc) != 1 || mc[0].attr("to") != "example.test" {
		t.Fatalf("multicast stanzas = %v, want one to example.test", mc)
	}
	if got, want := bcc(mc[0]), []string{"alice@example.test/a", "bob@example.test/b'&<x>", "carol@example.test/c"}; !slices.Equal(got, want) {
		t.Errorf("bcc = %q, want %q", got, want)
	}
	// A single recipient at a multicast domain, and a domain without it:
	// copies.
	slices.Sort(copies)
	if want := []string{"pat@plain.test/p", "pia@plain.test/q", "sam@solo.test/s"}; !slices.Equal(copies, want) {
		t.Errorf("copies to %q, want %q", copies, want)
	}
	m := mc[0]
	if m.attr("from") != testRoom+"/alice" || m.attr("type") != "groupchat" || m.attr("id") != "g3" || m.child("", "body").text() != "hi & bye" {
		t.Errorf("multicast stanza = %s", m)
	}
	if n := strings.Count(m.String(), "addresses"); n != 2 {
		t.Errorf("the client's addresses element went along (%d mentions): %s", n, m)
	}
	// On the wire: the shortest form, with the JID escaped.
	wire := string(m.appendXML(nil))
	if !strings.Contains(wire, `<addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='alice@example.test/a'/><address type='bcc' jid='bob@example.test/b&apos;&amp;&lt;x>'/>`) {
		t.Errorf("wire form = %s", wire)
	}
	back, err := parseElement([]byte(wire))
	if err != nil {
		t.Fatalf("the wire form does not parse: %v", err)
	}
	if got := bcc(back); !slices.Equal(got, bcc(m)) {
		t.Errorf("bcc after a round trip = %q", got)
	}
	// The copies carry no addresses at all.
	for _, e := range msgs {
		if e != m && e.child(NSAddress, "addresses") != nil {
			t.Errorf("a copy carries addresses: %s", e)
		}
	}
	// History keeps the payload without addresses.
	if hist := h.s.rooms["standup"].history; len(hist) == 0 || hist[len(hist)-1].msg.child(NSAddress, "addresses") != nil {
		t.Errorf("history entry carries addresses")
	}
	if s, c := readCounter(h.s.m.multicastStanzas), readCounter(h.s.m.multicastCopies); s != 1 || c != 3 {
		t.Errorf("metrics: %v stanzas, %v copies; want 1, 3", s, c)
	}
}

func TestFanOutMulticastOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		ready bool
	}{
		{"NoMulticast", func(c *Config) { c.NoMulticast = true }, true},
		{"link down", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := multicastHarness(t, tc.mod)
			h.s.ready.Store(tc.ready)
			h.join("alice@example.test/a", "alice")
			h.join("bob@example.test/b", "bob")
			for i := range 2 {
				out := h.in(fmt.Sprintf(`<message from='alice@example.test/a' to='%s' type='groupchat' id='x%d'><body>b</body></message>`, testRoom, i))
				if len(discoQueries(out)) != 0 || len(messages(out)) != 2 {
					t.Fatalf("fan-out %d: %d queries, %d messages; want 0 and 2 copies", i, len(discoQueries(out)), len(messages(out)))
				}
			}
		})
	}
}

func TestMulticastDiscoTimeoutAndReset(t *testing.T) {
	h, now := multicastHarness(t, nil)
	h.join("alice@example.test/a", "alice")
	h.join("bob@example.test/b", "bob")
	msg := func() []*element {
		return h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat'><body>b</body></message>`)
	}
	q := discoQueries(msg())
	if q["example.test"] == "" {
		t.Fatal("no query")
	}
	// Unanswered: given up after discoTimeout, asked again after discoRetry.
	*now = now.Add(discoTimeout + time.Second)
	if len(discoQueries(msg())) != 0 || len(h.s.mcast.pending) != 0 {
		t.Fatalf("the timed-out query was not dropped or was re-sent at once")
	}
	answerDisco(h, "example.test", q["example.test"], true) // too late
	if h.s.mcast.domains["example.test"].supported {
		t.Fatal("an answer after the timeout was taken")
	}
	*now = now.Add(discoRetry)
	q = discoQueries(msg())
	if q["example.test"] == "" {
		t.Fatal("not asked again after discoRetry")
	}
	answerDisco(h, "example.test", q["example.test"], true)
	if out := msg(); len(messages(out)) != 1 || len(bcc(out[0])) != 2 {
		t.Fatalf("after the answer: %v", out)
	}
	// A new link session knows nothing.
	h.s.linkLost()
	if len(h.s.mcast.domains) != 0 || len(h.s.mcast.pending) != 0 {
		t.Fatal("multicast knowledge survived the link")
	}
}

func TestMulticastBounceFallsBack(t *testing.T) {
	h, _ := multicastHarness(t, nil)
	h.join("alice@example.test/a", "alice")
	h.join("bob@example.test/b", "bob")
	msg := func(id string) []*element {
		return h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='` + id + `'><body>` + id + `</body></message>`)
	}
	q := discoQueries(msg("m0"))
	answerDisco(h, "example.test", q["example.test"], true)
	out := msg("m1")
	if len(out) != 1 || out[0].attr("to") != "example.test" {
		t.Fatalf("want one multicast, got %v", out)
	}
	// The server refuses it: the copies go one by one, and from then on.
	out = h.in(`<message type='error' from='example.test' to='` + testRoom + `/alice' id='m1'><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
	var to []string
	for _, e := range out {
		if e.child(NSAddress, "addresses") != nil || e.child("", "body").text() != "m1" {
			t.Errorf("resent %s", e)
		}
		to = append(to, e.attr("to"))
	}
	if !slices.Equal(to, []string{"alice@example.test/a", "bob@example.test/b"}) {
		t.Errorf("resent to %q", to)
	}
	if n := readCounter(h.s.m.multicastRefused); n != 1 {
		t.Errorf("bridge_muc_multicast_refused_total = %v, want 1", n)
	}
	if r := h.s.rooms["standup"]; len(r.occ) != 2 {
		t.Errorf("the bounce from the domain removed an occupant")
	}
	if out := msg("m2"); len(out) != 2 || out[0].child(NSAddress, "addresses") != nil {
		t.Errorf("after a refusal: %v", out)
	}
}

func TestMulticastBounceOfSeveralInFlight(t *testing.T) {
	h, _ := multicastHarness(t, nil)
	h.join("alice@example.test/a", "alice")
	h.join("bob@example.test/b", "bob")
	msg := func(id string) []*element {
		return h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='` + id + `'><body>` + id + `</body></message>`)
	}
	q := discoQueries(msg("m0"))
	answerDisco(h, "example.test", q["example.test"], true)
	msg("m1")
	msg("m2")
	for _, tc := range []struct {
		id   string
		want int // copies resent
	}{{"m2", 2}, {"m1", 2}, {"m1", 0}} { // a second refusal of m1 finds it resent
		id := tc.id
		out := h.in(`<message type='error' from='example.test' to='` + testRoom + `/alice' id='` + id + `'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
		if len(out) != tc.want {
			t.Fatalf("refusal of %s: resent %d copies, want %d", id, len(out), tc.want)
		}
		for _, e := range out {
			if e.child("", "body").text() != id {
				t.Errorf("refusal of %s resent %s", id, e)
			}
		}
	}
	if r := h.s.rooms["standup"]; len(r.occ) != 2 {
		t.Errorf("bounces from the domain removed an occupant")
	}
}

func TestMulticastSplitsLargeGroups(t *testing.T) {
	h, _ := multicastHarness(t, nil)
	long := strings.Repeat("r", 1000)
	const n = 150 // ~190 KiB of addresses: three stanzas or more
	for i := range n {
		h.join(fmt.Sprintf("u%d@example.test/%s", i, long), fmt.Sprintf("u%03d", i))
	}
	msg := func() []*element {
		return h.in(`<message from='u0@example.test/` + long + `' to='` + testRoom + `' type='groupchat'><body>b</body></message>`)
	}
	q := discoQueries(msg())
	answerDisco(h, "example.test", q["example.test"], true)
	out := msg()
	seen := map[string]bool{}
	for _, e := range out {
		size := 0
		for _, j := range bcc(e) {
			size += addressSize(j)
			if seen[j] {
				t.Errorf("%s twice", j)
			}
			seen[j] = true
		}
		if size > maxAddressBytes {
			t.Errorf("a stanza carries %d bytes of addresses", size)
		}
	}
	if len(out) < 3 || len(seen) != n {
		t.Errorf("%d stanzas covering %d recipients, want >= 3 covering %d", len(out), len(seen), n)
	}
}

func TestGroupByRecipientKeepsMulticastInPlace(t *testing.T) {
	el := func(to string, multicast bool) *element {
		e := newElem(nsClient, "message", "to", to)
		if multicast {
			e.add(newElem(NSAddress, "addresses").add(newElem(NSAddress, "address", "type", "bcc", "jid", "a@x/1")))
		}
		return e
	}
	m1, p, m2 := el("x", true), el("a@x/1", false), el("x", true)
	q, r := el("b@x/1", false), el("a@x/1", false)
	got := groupByRecipient([]*element{m1, p, m2, q, r})
	want := []*element{m1, p, m2, q, r}
	if !slices.Equal(got, want) {
		t.Errorf("a stanza moved across a multicast one")
	}
	// Without multicast in between, grouping still happens.
	a1, b1, a2 := el("a@x/1", false), el("b@x/1", false), el("a@x/1", false)
	if got := groupByRecipient([]*element{m1, a1, b1, a2}); !slices.Equal(got, []*element{m1, a1, a2, b1}) {
		t.Errorf("no grouping between multicasts")
	}
}

// FuzzMulticast feeds a stanza to a service that multicasts to example.test
// and has a query to other.test in flight, then checks that a groupchat
// still reaches every occupant exactly once, by copy or by bcc, and that
// everything sent parses.
func FuzzMulticast(f *testing.F) {
	for _, s := range []string{
		`<iq type='result' from='other.test' to='conference.example.test' id='q-other'><query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/address'/></query></iq>`,
		`<iq type='error' from='other.test' to='conference.example.test' id='q-other'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
		`<iq type='result' from='evil.test' to='conference.example.test' id='q-other'/>`,
		`<message type='error' from='example.test' to='standup@conference.example.test/alice' id='g1'><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<message type='error' from='example.test/x' to='standup@conference.example.test/alice'/>`,
		`<message from='bob@example.test/b' to='standup@conference.example.test' type='groupchat' id='g2'><body>x</body><addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='eve@example.test'/></addresses></message>`,
		`<presence from='olga@other.test/o' to='standup@conference.example.test/olga' type='unavailable'/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := parseElement(data)
		if err != nil {
			return
		}
		h, _ := multicastHarness(t, nil)
		for _, u := range []string{"alice@example.test/a", "bob@example.test/b", "olga@other.test/o", "oleg@other.test/p"} {
			h.join(u, strings.SplitN(u, "@", 2)[0])
		}
		group := func(id string) []*element {
			return h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='` + id + `'><body>b</body></message>`)
		}
		q := discoQueries(group("g0"))
		answerDisco(h, "example.test", q["example.test"], true)
		// Give the other.test query a known id, as the seeds use.
		d := h.s.mcast.domains["other.test"]
		delete(h.s.mcast.pending, d.askID)
		d.askID = "q-other"
		h.s.mcast.pending["q-other"] = "other.test"
		group("g1")

		h.s.handle(in)
		for _, o := range h.s.takeOut() {
			if _, err := parseElement(o.appendXML(nil)); err != nil {
				t.Fatalf("sent %q, which does not parse, after %q", o.appendXML(nil), data)
			}
		}
		reached := map[string]int{}
		for _, o := range group("g2") {
			if o.Name.Local != "message" {
				continue
			}
			if a := bcc(o); a != nil {
				for _, j := range a {
					reached[j]++
				}
			} else {
				reached[o.attr("to")]++
			}
		}
		r := h.s.rooms["standup"]
		if r == nil {
			return
		}
		for _, o := range r.occ {
			if reached[o.jid.String()] != 1 {
				t.Fatalf("%s reached %d times after %q", o.jid, reached[o.jid.String()], data)
			}
		}
		if len(reached) != len(r.occ) {
			t.Fatalf("reached %v, occupants %d, after %q", reached, len(r.occ), data)
		}
	})
}
