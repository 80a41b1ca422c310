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
	answerDiscoFeatures(h, from, id, f)
}

// answerDiscoFeatures feeds a disco#info result listing features (raw
// <feature/> elements), which the service must not answer.
func answerDiscoFeatures(h *harness, from, id, features string) {
	h.t.Helper()
	if out := h.in(`<iq type='result' from='` + from + `' to='` + testDomain + `' id='` + id + `'><query xmlns='http://jabber.org/protocol/disco#info'>` + features + `</query></iq>`); len(out) != 0 {
		h.t.Fatalf("the disco#info answer was answered: %v", out)
	}
}

// aliceSays has alice@example.test/a send groupchat id (body id) to the
// test room and returns what the service sent.
func aliceSays(h *harness, id string) []*element {
	return h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='` + id + `'><body>` + id + `</body></message>`)
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
		`<addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='eve@example.test/e'/></addresses>` +
		`<list xmlns='urn:cusax:multicast:list:0' id='other@conference.example.test' v='1'/></message>`

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
	if strings.Contains(m.String(), "other@conference") {
		t.Errorf("the client's recipient list went along: %s", m)
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
	q := discoQueries(aliceSays(h, "m0"))
	answerDisco(h, "example.test", q["example.test"], true)
	out := aliceSays(h, "m1")
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
	if out := aliceSays(h, "m2"); len(out) != 2 || out[0].child(NSAddress, "addresses") != nil {
		t.Errorf("after a refusal: %v", out)
	}
}

func TestMulticastBounceOfSeveralInFlight(t *testing.T) {
	h, _ := multicastHarness(t, nil)
	h.join("alice@example.test/a", "alice")
	h.join("bob@example.test/b", "bob")
	q := discoQueries(aliceSays(h, "m0"))
	answerDisco(h, "example.test", q["example.test"], true)
	aliceSays(h, "m1")
	aliceSays(h, "m2")
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
// (naming a recipient list it gave the server) and has a query to other.test
// in flight, then checks that a groupchat
// still reaches every occupant exactly once, by copy or by bcc, and that
// everything sent parses.
func FuzzMulticast(f *testing.F) {
	for _, s := range []string{
		`<iq type='result' from='other.test' to='conference.example.test' id='q-other'><query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/address'/></query></iq>`,
		`<iq type='error' from='other.test' to='conference.example.test' id='q-other'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
		`<iq type='result' from='evil.test' to='conference.example.test' id='q-other'/>`,
		`<message type='error' from='example.test' to='standup@conference.example.test/alice' id='g1'><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<message type='error' from='example.test/x' to='standup@conference.example.test/alice'/>`,
		`<message type='error' from='example.test' to='standup@conference.example.test/alice' id='g1'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<message type='error' from='example.test' id='g1'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<message from='bob@example.test/b' to='standup@conference.example.test' type='groupchat' id='g3'><body>x</body><list xmlns='urn:cusax:multicast:list:0' id='standup@conference.example.test' v='1'/></message>`,
		`<presence from='carl@example.test/c' to='standup@conference.example.test/carl'><x xmlns='http://jabber.org/protocol/muc'/></presence>`,
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
		answerDiscoLists(h, "example.test", q["example.test"])
		// Give the other.test query a known id, as the seeds use.
		d := h.s.mcast.domains["other.test"]
		delete(h.s.mcast.pending, d.askID)
		d.askID = "q-other"
		h.s.mcast.pending["q-other"] = "other.test"
		srv := &fakeListServer{}
		srv.route(t, group("g1")) // the full list
		srv.route(t, group("g1")) // its name only

		h.s.handle(in)
		for _, o := range h.s.takeOut() {
			if _, err := parseElement(o.appendXML(nil)); err != nil {
				t.Fatalf("sent %q, which does not parse, after %q", o.appendXML(nil), data)
			}
		}
		reached := map[string]int{}
		copies, refusals := srv.route(t, group("g2"))
		if len(refusals) != 0 {
			t.Fatalf("the server refused %v after %q", refusals, data)
		}
		for _, c := range copies {
			reached[c.to]++
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

// answerDiscoLists feeds the server's disco#info result advertising
// multicast and recipient lists.
func answerDiscoLists(h *harness, from, id string) {
	h.t.Helper()
	answerDiscoFeatures(h, from, id, `<feature var='http://jabber.org/protocol/address'/><feature var='urn:cusax:multicast:list:0'/>`)
}

// fakeListServer does what mod_cusax_multicast does with what the service
// sends: it stores named lists, expands stanzas naming a stored list, and
// refuses (item-not-found) those naming one it does not have.
type fakeListServer struct {
	lists map[string]fakeList // list id → what was stored
}

type fakeList struct {
	v    string
	jids []string
}

// delivery is one copy the server (or the service, by itself) delivered.
type delivery struct{ to, id string }

// route returns the copies delivered from out, in order, and the error
// replies the server sends back for refused stanzas.
func (f *fakeListServer) route(t *testing.T, out []*element) (copies []delivery, refusals []string) {
	t.Helper()
	if f.lists == nil {
		f.lists = map[string]fakeList{}
	}
	for _, e := range out {
		if e.Name.Local != "message" {
			continue
		}
		to, id := e.attr("to"), e.attr("id")
		l := e.child(NSList, "list")
		addrs := e.child(NSAddress, "addresses")
		if addrs == nil && l == nil {
			copies = append(copies, delivery{to, id})
			continue
		}
		if strings.Contains(to, "@") || strings.Contains(to, "/") {
			t.Fatalf("a multicast stanza to %q", to)
		}
		if addrs != nil {
			jids := bcc(e)
			if l != nil {
				f.lists[l.attr("id")] = fakeList{l.attr("v"), jids}
			}
			for _, j := range jids {
				copies = append(copies, delivery{j, id})
			}
			continue
		}
		stored, ok := f.lists[l.attr("id")]
		if !ok || stored.v != l.attr("v") {
			refusals = append(refusals, `<message type='error' from='`+to+`' to='`+e.attr("from")+`' id='`+id+`'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
			continue
		}
		for _, j := range stored.jids {
			copies = append(copies, delivery{j, id})
		}
	}
	return copies, refusals
}

// listHarness is a room at example.test, whose server keeps lists, with
// the given occupants (JID/nick pairs) and discovery done.
func listHarness(t *testing.T, occupants ...string) *harness {
	t.Helper()
	h, _ := multicastHarness(t, nil)
	for i := 0; i < len(occupants); i += 2 {
		h.join(occupants[i], occupants[i+1])
	}
	q := discoQueries(h.in(`<message from='` + occupants[0] + `' to='` + testRoom + `' type='groupchat' id='warm'><body>w</body></message>`))
	answerDiscoLists(h, "example.test", q["example.test"])
	return h
}

// listForm says how a stanza went: "copy", "full" (addresses and a list),
// "list" (the list's name only) or "addresses" (no list).
func listForm(e *element) string {
	a, l := e.child(NSAddress, "addresses") != nil, e.child(NSList, "list") != nil
	switch {
	case a && l:
		return "full"
	case l:
		return "list"
	case a:
		return "addresses"
	}
	return "copy"
}

func TestMulticastListVersions(t *testing.T) {
	h := listHarness(t, "alice@example.test/a", "alice", "bob@example.test/b", "bob", "carol@example.test/c", "carol")
	srv := &fakeListServer{}
	var lastV string
	for i, step := range []struct {
		name    string
		change  string // a stanza changing the room first, if any
		form    string // how the groupchat goes
		newV    bool   // under a new version
		members []string
	}{
		{"first use", "", "full", true, []string{"alice", "bob", "carol"}},
		{"reused", "", "list", false, []string{"alice", "bob", "carol"}},
		{"reused again", "", "list", false, []string{"alice", "bob", "carol"}},
		{"dave joins", `<presence from='dave@example.test/d' to='` + testRoom + `/dave'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, "full", true, []string{"alice", "bob", "carol", "dave"}},
		{"dave's list reused", "", "list", false, []string{"alice", "bob", "carol", "dave"}},
		{"bob leaves", `<presence from='bob@example.test/b' to='` + testRoom + `/bob' type='unavailable'/>`, "full", true, []string{"alice", "carol", "dave"}},
		{"without bob", "", "list", false, []string{"alice", "carol", "dave"}},
		{"carol becomes zoe", `<presence from='carol@example.test/c' to='` + testRoom + `/zoe'/>`, "full", true, []string{"alice", "carol", "dave"}},
		{"after the nick change", "", "list", false, []string{"alice", "carol", "dave"}},
		{"someone elsewhere joins", `<presence from='sam@solo.test/s' to='` + testRoom + `/sam'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, "list", false, []string{"alice", "carol", "dave", "sam"}},
	} {
		if step.change != "" {
			// Presence goes to each occupant by itself, never by list.
			for _, e := range h.in(step.change) {
				if f := listForm(e); f != "copy" {
					t.Errorf("%s: a %s went as %s", step.name, e.Name.Local, f)
				}
			}
		}
		id := fmt.Sprintf("v%d", i)
		out := h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='` + id + `'><body>b</body></message>`)
		var mc *element
		for _, e := range messages(out) {
			if e.attr("to") == "example.test" {
				mc = e
			}
		}
		if mc == nil {
			t.Fatalf("%s: no multicast stanza in %v", step.name, out)
		}
		if f := listForm(mc); f != step.form {
			t.Errorf("%s: sent as %s, want %s: %s", step.name, f, step.form, mc)
		}
		l := mc.child(NSList, "list")
		if l.attr("id") != testRoom || l.attr("v") == "" {
			t.Errorf("%s: list element %s", step.name, l)
		}
		if (l.attr("v") != lastV) != step.newV {
			t.Errorf("%s: version %q after %q, want a new one: %v", step.name, l.attr("v"), lastV, step.newV)
		}
		lastV = l.attr("v")
		copies, refusals := srv.route(t, out)
		if len(refusals) != 0 {
			t.Fatalf("%s: the server refused %v", step.name, refusals)
		}
		got := map[string]int{}
		for _, c := range copies {
			got[strings.SplitN(c.to, "@", 2)[0]]++
		}
		for _, m := range step.members {
			if got[m] != 1 {
				t.Errorf("%s: %s got %d copies", step.name, m, got[m])
			}
		}
		if len(got) != len(step.members) {
			t.Errorf("%s: copies to %v, want %v", step.name, got, step.members)
		}
	}
	if n := readCounter(h.s.m.multicastListStanzas); n != 6 {
		t.Errorf("bridge_muc_multicast_list_stanzas_total = %v, want 6", n)
	}
}

func TestMulticastListRefusedFallsBack(t *testing.T) {
	h := listHarness(t, "alice@example.test/a", "alice", "bob@example.test/b", "bob")
	srv := &fakeListServer{}
	var delivered []delivery
	deliver := func(out []*element) []string {
		c, r := srv.route(t, out)
		delivered = append(delivered, c...)
		return r
	}
	if r := deliver(aliceSays(h, "m1")); len(r) != 0 {
		t.Fatalf("refused %v", r)
	}
	// The server loses the list (evicted, module reloaded) while three
	// stanzas naming it are in flight: all three are refused.
	srv.lists = nil
	var refusals []string
	for _, id := range []string{"m2", "m3", "m4"} {
		refusals = append(refusals, deliver(aliceSays(h, id))...)
	}
	if len(refusals) != 3 {
		t.Fatalf("%d refusals, want 3", len(refusals))
	}
	// The first refusal resends all three as copies, in order; the later
	// refusals find them resent.
	for i, r := range refusals {
		out := h.in(r)
		if i > 0 {
			if len(out) != 0 {
				t.Errorf("refusal %d resent %v", i, out)
			}
			continue
		}
		var got []string
		for _, e := range out {
			if listForm(e) != "copy" {
				t.Errorf("resent as %s: %s", listForm(e), e)
			}
			got = append(got, e.attr("id")+">"+e.attr("to"))
		}
		want := []string{"m2>alice@example.test/a", "m2>bob@example.test/b", "m3>alice@example.test/a", "m3>bob@example.test/b", "m4>alice@example.test/a", "m4>bob@example.test/b"}
		if !slices.Equal(got, want) {
			t.Errorf("resent %q, want %q", got, want)
		}
		deliver(out)
	}
	if n := readCounter(h.s.m.multicastListMisses); n != 3 {
		t.Errorf("bridge_muc_multicast_list_misses_total = %v, want 3", n)
	}
	if !h.s.mcast.domains["example.test"].supported || !h.s.mcast.domains["example.test"].lists {
		t.Fatal("a lost list turned multicast off for the domain")
	}
	// The next stanza carries the full list again, the one after names it.
	for _, tc := range []struct{ id, form string }{{"m5", "full"}, {"m6", "list"}} {
		out := aliceSays(h, tc.id)
		if len(out) != 1 || listForm(out[0]) != tc.form {
			t.Fatalf("%s: %v, want one %s stanza", tc.id, out, tc.form)
		}
		if r := deliver(out); len(r) != 0 {
			t.Fatalf("%s refused", tc.id)
		}
	}
	// Every message reached each occupant once, in order.
	for _, who := range []string{"alice@example.test/a", "bob@example.test/b"} {
		var ids []string
		for _, d := range delivered {
			if d.to == who {
				ids = append(ids, d.id)
			}
		}
		if want := []string{"m1", "m2", "m3", "m4", "m5", "m6"}; !slices.Equal(ids, want) {
			t.Errorf("%s got %q, want %q", who, ids, want)
		}
	}
}

func TestMulticastListOtherRefusal(t *testing.T) {
	// A refusal other than item-not-found (here of the stanza storing the
	// list) turns the domain to copies, and the stanzas naming that list
	// after it are resent with it.
	h := listHarness(t, "alice@example.test/a", "alice", "bob@example.test/b", "bob")
	if out := aliceSays(h, "m1"); len(out) != 1 || listForm(out[0]) != "full" {
		t.Fatalf("m1: %v", out)
	}
	if out := aliceSays(h, "m2"); len(out) != 1 || listForm(out[0]) != "list" {
		t.Fatalf("m2: %v", out)
	}
	out := h.in(`<message type='error' from='example.test' to='` + testRoom + `/alice' id='m1'><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
	var got []string
	for _, e := range out {
		got = append(got, e.attr("id")+">"+e.attr("to"))
	}
	if want := []string{"m1>alice@example.test/a", "m1>bob@example.test/b", "m2>alice@example.test/a", "m2>bob@example.test/b"}; !slices.Equal(got, want) {
		t.Errorf("resent %q, want %q", got, want)
	}
	if h.s.mcast.domains["example.test"].supported {
		t.Error("the domain still multicasts after a refusal")
	}
	if out := aliceSays(h, "m3"); len(out) != 2 || listForm(out[0]) != "copy" {
		t.Errorf("m3: %v", out)
	}
	// m2's own refusal comes later and finds nothing to resend.
	if out := h.in(`<message type='error' from='example.test' to='` + testRoom + `/alice' id='m2'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`); len(out) != 0 {
		t.Errorf("m2's refusal resent %v", out)
	}
}

func TestMulticastListResetOnLinkLoss(t *testing.T) {
	h := listHarness(t, "alice@example.test/a", "alice", "bob@example.test/b", "bob")
	h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='m1'><body>b</body></message>`)
	if len(h.s.mcast.lists) != 1 {
		t.Fatalf("lists = %v, want one", h.s.mcast.lists)
	}
	h.s.linkLost()
	if len(h.s.mcast.lists) != 0 || h.s.mcast.version != 0 {
		t.Fatal("recipient lists survived the link")
	}
	// The occupants come back on the new link; once the server is known
	// again, the first stanza carries the full list.
	h.join("alice@example.test/a", "alice")
	h.join("bob@example.test/b", "bob")
	q := discoQueries(h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='m2'><body>b</body></message>`))
	answerDiscoLists(h, "example.test", q["example.test"])
	for _, want := range []string{"full", "list"} {
		out := h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat' id='m3'><body>b</body></message>`)
		if len(out) != 1 || listForm(out[0]) != want {
			t.Fatalf("after the new link: %v, want one %s stanza", out, want)
		}
	}
}

func TestMulticastListLimits(t *testing.T) {
	t.Run("too large for one stanza", func(t *testing.T) {
		long := strings.Repeat("r", 1000)
		var occ []string
		for i := range 80 { // ~100 KiB of addresses: split, so no list
			occ = append(occ, fmt.Sprintf("u%d@example.test/%s", i, long), fmt.Sprintf("u%03d", i))
		}
		h := listHarness(t, occ...)
		for range 2 {
			out := h.in(`<message from='u0@example.test/` + long + `' to='` + testRoom + `' type='groupchat'><body>b</body></message>`)
			if len(out) < 2 {
				t.Fatalf("%d stanzas, want the group split", len(out))
			}
			for _, e := range out {
				if f := listForm(e); f != "addresses" {
					t.Errorf("a split group went as %s", f)
				}
			}
		}
	})
	t.Run("oldest list dropped", func(t *testing.T) {
		h := listHarness(t, "alice@example.test/a", "alice", "bob@example.test/b", "bob")
		m := &h.s.mcast
		h.in(`<message from='alice@example.test/a' to='` + testRoom + `' type='groupchat'><body>b</body></message>`)
		for i := range maxLists - 1 {
			m.lists[fmt.Sprintf("r%d", i)] = &sentList{v: 1, seq: uint64(i + 1)}
		}
		m.lists[listKey(testRoom, "example.test")].seq = maxLists
		m.seq = maxLists
		h.in(`<presence from='alice@example.test/a' to='other@` + testDomain + `/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
		h.in(`<presence from='bob@example.test/b' to='other@` + testDomain + `/bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
		out := h.in(`<message from='alice@example.test/a' to='other@` + testDomain + `' type='groupchat'><body>b</body></message>`)
		if len(out) != 1 || listForm(out[0]) != "full" {
			t.Fatalf("other room: %v", out)
		}
		if len(m.lists) != maxLists || m.lists["r0"] != nil || m.lists[listKey(testRoom, "example.test")] == nil {
			t.Errorf("%d lists; the oldest kept: %v", len(m.lists), m.lists["r0"] != nil)
		}
	})
}
