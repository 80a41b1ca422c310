package muc

import (
	"strings"
	"testing"
)

func TestElementRoundTrip(t *testing.T) {
	cases := []struct{ in, want string }{
		{`<message xmlns='jabber:client' to='a@b'><body>hi &amp; bye</body></message>`, `<message to="a@b"><body>hi &amp; bye</body></message>`},
		{`<presence><x xmlns='http://jabber.org/protocol/muc'><password>p</password></x></presence>`, `<presence><x xmlns="http://jabber.org/protocol/muc"><password>p</password></x></presence>`},
		{`<message xml:lang='en'><body>x</body></message>`, `<message xml:lang="en"><body>x</body></message>`},
		{`<message xmlns='jabber:component:accept'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><body>n</body></message></forwarded></message>`,
			`<message><forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client"><body>n</body></message></forwarded></message>`},
		{`<p:x xmlns:p='urn:a'><p:y/></p:x>`, `<x xmlns="urn:a"><y></y></x>`},
	}
	for _, c := range cases {
		el, err := parseElement([]byte(c.in))
		if err != nil {
			t.Fatalf("parse %s: %v", c.in, err)
		}
		if got := el.String(); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestElementLimits(t *testing.T) {
	deep := strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1)
	if _, err := parseElement([]byte(deep)); err != errTooLarge {
		t.Errorf("too deep: %v", err)
	}
	big := "<a>" + strings.Repeat("x", maxText+1) + "</a>"
	if _, err := parseElement([]byte(big)); err != errTooLarge {
		t.Errorf("too much text: %v", err)
	}
	wide := "<a>" + strings.Repeat("<b/>", maxTokens) + "</a>"
	if _, err := parseElement([]byte(wide)); err != errTooLarge {
		t.Errorf("too many tokens: %v", err)
	}
	if _, err := parseElement([]byte("<a><b></a>")); err == nil {
		t.Errorf("mismatched tags parsed")
	}
}
