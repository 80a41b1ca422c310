package focus

import (
	"errors"
	"strings"
	"testing"
)

// FuzzHeaderParsers covers the hand-written parsers of network input:
// header lists, Call-Info purposes, DTMF bodies and the stateless 400 built
// from an unparseable request. None may panic; a 400 must stay one.
func FuzzHeaderParsers(f *testing.F) {
	f.Add("INVITE sip:r@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: x INVITE\r\n\r\n", `<xmpp:a@b>;purpose=impp, <http://x>;purpose=info`, "Signal=5\r\nDuration=160")
	f.Add("SIP/2.0 200 OK\r\n\r\n", `"a,b" <sip:x>, <sip:y>`, "Signal=10")
	f.Add("\x00\xff", "<<<>>>,,,", "=")
	f.Fuzz(func(t *testing.T, msg, list, dtmf string) {
		if res := badRequest([]byte(msg), errors.New("fuzz")); res != nil && !strings.HasPrefix(string(res), "SIP/2.0 400 Bad Request\r\n") {
			t.Fatalf("badRequest produced %q", res)
		}
		for _, item := range splitList(list) {
			if strings.TrimSpace(item) != item || item == "" {
				t.Fatalf("splitList item %q", item)
			}
		}
		_ = imppURIs(list)
		for _, line := range strings.Split(dtmf, "\n") {
			if d := dtmfDigit(strings.TrimSpace(line)); d != 0 && !strings.ContainsRune("0123456789*#ABCD", d) {
				t.Fatalf("digit %q from %q", d, line)
			}
		}
	})
}
