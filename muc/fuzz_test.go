package muc

import (
	"strings"
	"testing"
)

// FuzzParseElement checks the tree reader never panics and that what it
// writes back, in both its encoding/xml and its wire form, parses to the
// same thing.
func FuzzParseElement(f *testing.F) {
	for _, s := range []string{
		`<message to='a@b'><body>x</body></message>`,
		`<iq><query xmlns='urn:x'><item a='1'/></query></iq>`,
		`<a xml:lang='en'>t<b/>u</a>`,
		`<p:x xmlns:p='urn:a' p:attr='v'/>`,
		`<m a='&apos;&quot;&#9;&#10;&#13;&lt;&amp;'>]]&gt;&#13;<x xmlns='jabber:client'/></m>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		el, err := parseElement(data)
		if err != nil {
			return
		}
		out := el.String()
		if strings.HasPrefix(out, "<!--") {
			return // an attribute or name the encoder rejects: never sent
		}
		again, err := parseElement([]byte(out))
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", out, data, err)
		}
		if again.String() != out {
			t.Fatalf("not stable: %q then %q", out, again.String())
		}
		// The wire form (wire.go) must carry the same tree.
		wire := el.appendXML(nil)
		fromWire, err := parseElement(wire)
		if err != nil {
			t.Fatalf("re-parsing the wire form %q (from %q): %v", wire, data, err)
		}
		if fromWire.String() != out {
			t.Fatalf("the wire form %q parses to %q, want %q", wire, fromWire.String(), out)
		}
	})
}

// FuzzHandle feeds arbitrary stanzas to a room with an owner and a
// participant. The service must not panic, must answer with well-formed
// stanzas from its own domain, and must never answer an error with an error.
func FuzzHandle(f *testing.F) {
	seeds := []string{
		`<presence from='carol@example.test/x' to='standup@conference.example.test/carol'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='2'/><password>p</password></x></presence>`,
		`<presence from='bob@example.test/x' to='standup@conference.example.test/bobby'/>`,
		`<presence from='bob@example.test/x' to='standup@conference.example.test/bob' type='unavailable'/>`,
		`<message from='bob@example.test/x' to='standup@conference.example.test' type='groupchat' id='1'><body>hi</body></message>`,
		`<message from='alice@example.test/pc' to='standup@conference.example.test' type='groupchat'><subject>s</subject></message>`,
		`<message from='alice@example.test/pc' to='standup@conference.example.test/bob' type='chat'><body>pm</body></message>`,
		`<message from='alice@example.test/pc' to='standup@conference.example.test'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='c@example.test'><reason>r</reason></invite></x></message>`,
		`<message from='bob@example.test/x' to='standup@conference.example.test'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field><field var='muc#role'><value>participant</value></field></x></message>`,
		`<iq from='alice@example.test/pc' to='standup@conference.example.test' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='bob' role='none'><reason>x</reason></item></query></iq>`,
		`<iq from='alice@example.test/pc' to='standup@conference.example.test' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='bob@example.test' affiliation='outcast'/></query></iq>`,
		`<iq from='alice@example.test/pc' to='standup@conference.example.test' type='get' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`,
		`<iq from='alice@example.test/pc' to='standup@conference.example.test' type='get' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`,
		`<iq from='alice@example.test/pc' to='standup@conference.example.test' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_maxusers'><value>3</value></field><field var='muc#roomconfig_getmemberlist'><value>moderator</value></field></x></query></iq>`,
		`<iq from='alice@example.test/pc' to='standup@conference.example.test' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='x@conference.example.test'><reason>r</reason></destroy></query></iq>`,
		`<iq from='bob@example.test/x' to='standup@conference.example.test/bob' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`,
		`<iq from='bob@example.test/x' to='standup@conference.example.test/alice' type='get' id='1'><vCard xmlns='vcard-temp'/></iq>`,
		`<iq from='alice@example.test/pc' to='standup@conference.example.test/bob' type='result' id='1'/>`,
		`<iq from='bob@example.test/x' to='conference.example.test' type='get' id='1'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
		`<iq from='bob@example.test/x' to='standup@conference.example.test' type='get' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
		`<message from='bob@example.test/x' to='standup@conference.example.test/alice' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := parseElement(data)
		if err != nil {
			return
		}
		h := newHarness(t, nil)
		h.join("alice@example.test/pc", "alice")
		h.join("bob@example.test/x", "bob")
		h.s.handle(in)
		out := h.s.takeOut()
		for _, o := range out {
			s := o.String()
			if strings.HasPrefix(s, "<!--") {
				t.Fatalf("unencodable reply %q to %q", s, data)
			}
			if _, err := parseElement([]byte(s)); err != nil {
				t.Fatalf("reply %q to %q does not parse: %v", s, data, err)
			}
			from := o.attr("from")
			if bare := strings.SplitN(from, "/", 2)[0]; bare != testDomain && !strings.HasSuffix(bare, "@"+testDomain) {
				t.Fatalf("reply from %q, outside the component's domain, to %q", from, data)
			}
			if in.attr("type") == "error" && o.attr("type") == "error" {
				t.Fatalf("an error was answered with an error: %q", data)
			}
		}
		// Whatever happened, the invariants of the room hold.
		for _, r := range h.s.rooms {
			if len(r.occ) == 0 && !r.cfg.Persistent {
				t.Fatalf("empty temporary room %q kept", r.name)
			}
			for k, o := range r.occ {
				if k != o.key {
					t.Fatalf("occupant indexed under %q has key %q", k, o.key)
				}
			}
			if r.owners() == 0 {
				t.Fatalf("room %q lost its last owner", r.name)
			}
		}
	})
}
