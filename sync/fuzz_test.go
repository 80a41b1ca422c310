package sync

import (
	"strings"
	"testing"

	"cusax.dev/bridge/focus"
)

// FuzzCallerAddresses feeds the From and Call-Info values of INVITEs (network
// input) to the parsers binding relies on: none may panic, and whatever they
// return must be a plausible bare JID.
func FuzzCallerAddresses(f *testing.F) {
	for _, s := range []struct{ from, impp string }{
		{`"Alice" <sip:alice@example.test>;tag=1`, "xmpp:alice@example.test"},
		{"sips:+1555@pbx.test:5061;user=phone", "<xmpp:bob@example.test/res?message>"},
		{"<sip:@>", "xmpp:@"},
		{"sip:a*b@corp.test", "xmpp://x@y"},
		{"\x00<<<>>", "XMPP:Ü@ex"},
	} {
		f.Add(s.from, s.impp)
	}
	rules, err := compileDirectory([]DirectoryRule{{SIP: "sip:*@corp.test", JID: "*@corp.test"}, {SIP: "sip:a*b@example.test", JID: "x*@example.test"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, from, impp string) {
		for _, j := range []string{lookupDirectory(rules, from), impJID(impp)} {
			if j == "" {
				continue
			}
			l, d, ok := strings.Cut(j, "@")
			if !ok || l == "" || d == "" || strings.ContainsAny(j, "/<>\"' ") || strings.Count(j, "@") != 1 {
				t.Fatalf("not a bare JID: %q (from %q, impp %q)", j, from, impp)
			}
		}
		_ = sameAOR(from, impp)
		if displayName(focus.CallFacts{From: from, DisplayName: impp}) == "" {
			t.Fatal("empty nick")
		}
	})
}

// FuzzVCard feeds vCards as a user's server might send them (network
// input): the parser must not panic and may only return SIP URIs.
func FuzzVCard(f *testing.F) {
	for _, s := range []string{
		`<vCard xmlns='vcard-temp'><URL>sip:alice@pbx.test</URL></vCard>`,
		`<vCard xmlns='vcard-temp'><TEL><NUMBER>sip:+1@x</NUMBER></TEL><IMPP>sips:a@b</IMPP></vCard>`,
		`<vCard><URL><URL><URL>sip:a@b</URL></URL></URL></vCard>`,
		`<a:vCard xmlns:a='x'><![CDATA[sip:a@b]]></a:vCard>`,
		`<<<>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, a := range vcardSIPAddresses(raw) {
			if _, _, ok := splitAOR(a); !ok {
				t.Fatalf("returned %q, not a SIP URI", a)
			}
		}
	})
}
