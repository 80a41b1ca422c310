package muc

import (
	"strings"
	"testing"
)

func TestAppendXML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<message xmlns='jabber:component:accept' from='r@c/n' type='groupchat' id='m1' to='u@d/r'><body>a &amp; b &lt; c > d</body><stanza-id xmlns='urn:xmpp:sid:0' id='x' by='r@c'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='o'/></message>`,
			`<message from='r@c/n' type='groupchat' id='m1' to='u@d/r'><body>a &amp; b &lt; c > d</body><stanza-id xmlns='urn:xmpp:sid:0' id='x' by='r@c'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='o'/></message>`},
		// Only the > of "]]>" is escaped, in text; an attribute needs none.
		{`<message a='x>y'><body>]]&gt; ]>]]]&gt;>></body></message>`, `<message a='x>y'><body>]]&gt; ]>]]]&gt;>></body></message>`},
		{`<presence to='a@b' xml:lang='en'><x xmlns='http://jabber.org/protocol/muc#user'><item nick="it's"/></x></presence>`,
			`<presence to='a@b' xml:lang='en'><x xmlns='http://jabber.org/protocol/muc#user'><item nick='it&apos;s'/></x></presence>`},
		{`<message><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='x'><body>&#13;</body></message></forwarded></message>`,
			`<message><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='x'><body>&#13;</body></message></forwarded></message>`},
		{`<iq><q xmlns:p='urn:p' p:a='1	2'/></iq>`, `<iq><q xmlns:a0='urn:p' a0:a='1&#9;2'/></iq>`},
	} {
		el, err := parseElement([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(el.appendXML(nil)); got != tc.want {
			t.Errorf("appendXML(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	// Text no XML can carry (from a sync command, say) is replaced, never sent.
	e := newElem(nsClient, "message").add(newElem(nsClient, "body").withText("a\x00b\xffc"))
	if got, want := string(e.appendXML(nil)), "<message><body>a\uFFFDb\uFFFDc</body></message>"; got != want {
		t.Errorf("invalid characters: got %q, want %q", got, want)
	}
}

func TestGroupByRecipient(t *testing.T) {
	mk := func(to, id string) *element { return newElem(nsClient, "message", "to", to, "id", id) }
	in := []*element{mk("a", "1"), mk("b", "1"), mk("c", "1"), mk("a", "2"), mk("b", "2"), mk("a", "3")}
	var got []string
	for _, e := range groupByRecipient(in) {
		got = append(got, e.attr("to")+e.attr("id"))
	}
	if want := "a1 a2 a3 b1 b2 c1"; strings.Join(got, " ") != want {
		t.Errorf("grouped = %v, want %s (per-recipient order kept)", got, want)
	}
	if len(in) != 6 || in[1].attr("to") != "b" {
		t.Errorf("the input batch was modified")
	}
}

// TestOversizedGroupchatRefused: a groupchat that would be written larger
// than maxRelayed (escaping & as &amp; grows it) is refused to its sender
// with policy-violation and reaches nobody, rather than making the server
// close the component link; one just under the limit is relayed.
func TestOversizedGroupchatRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/x", "bob")
	h.events() // the joins
	msg := func(body string) string {
		return `<message from='alice@example.test/pc' to='` + testRoom + `' type='groupchat' id='big'><body>` + body + `</body></message>`
	}
	out := h.in(msg(strings.Repeat("&amp;", maxRelayed/5+1)))
	if len(out) != 1 || errCond(out[0]) != "policy-violation" || out[0].attr("to") != "alice@example.test/pc" {
		t.Fatalf("oversized groupchat: got %d stanzas (%v), want one policy-violation error to alice", len(out), out)
	}
	if ev := h.events(); len(ev) != 0 {
		t.Errorf("an oversized groupchat made events: %+v", ev)
	}
	out = h.in(msg(strings.Repeat("x", maxRelayed/2)))
	if len(to(out, "bob@example.test/x")) != 1 {
		t.Errorf("a groupchat of %d bytes did not reach bob", maxRelayed/2)
	}
}
