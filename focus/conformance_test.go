package focus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func readRFC4475(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "rfc4475", name+".dat"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The grammar's freedoms in RFC 4475 3.1.1.1 come out of normalizeHead
// and sipgo as the RFC reads them, not merely without an error.
func TestNormalizeHeadWsinv(t *testing.T) {
	msg, err := sip.ParseMessage(normalizeHead(readRFC4475(t, "wsinv")))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	param := func(p sip.HeaderParams, k string) string { v, _ := p.Get(k); return v }
	if got := param(req.To().Params, "tag"); got != "1918181833n" {
		t.Errorf("To tag %q", got)
	}
	if got := param(req.From().Params, "tag"); got != "98asjd8" {
		t.Errorf("From tag %q", got)
	}
	if got := req.From().DisplayName; got != `J Rosenberg \\\"` {
		t.Errorf("From display name %q, want the quoted-string's content with its escapes", got)
	}
	want := []struct{ transport, host, branch string }{
		{"UDP", "192.0.2.2", "390skdjuw"}, {"TCP", "spindle.example.com", "z9hG4bK9ikj8"}, {"UDP", "192.168.255.111", "z9hG4bK30239"},
	}
	vias := req.GetHeaders("Via")
	if len(vias) != len(want) {
		t.Fatalf("%d Vias: %v", len(vias), vias)
	}
	for i, w := range want {
		v := vias[i].(*sip.ViaHeader)
		if v.Transport != w.transport || v.Host != w.host || param(v.Params, "branch") != w.branch {
			t.Errorf("Via %d = %s %s %s, want %v", i, v.Transport, v.Host, param(v.Params, "branch"), w)
		}
	}
	c := req.Contact()
	if c == nil || param(c.Params, "newparam") != "newvalue" || param(c.Params, "q") != "0.33" || !c.Params.Has("secondparam") {
		t.Errorf("Contact %v", c)
	}
	if req.CSeq().SeqNo != 9 || req.CSeq().MethodName != sip.INVITE || *req.MaxForwards() != 68 || len(req.Body()) != 150 {
		t.Errorf("CSeq %v, Max-Forwards %v, body %d", req.CSeq(), req.MaxForwards(), len(req.Body()))
	}
}

// An RFC 2543 request gets a made-up branch for sipgo, its answers carry
// its own Via again, and the ACK of a 2xx is a transaction of its own.
func TestRFC2543Branch(t *testing.T) {
	var s rfc2543Branch
	parse := func(raw []byte) *sip.Request {
		m, err := sip.ParseMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		return m.(*sip.Request)
	}
	raw := readRFC4475(t, "inv2543")
	req := parse(raw)
	if !s.adopt(req) || !fromRFC2543(req) {
		t.Fatal("an INVITE without branch was not adopted")
	}
	invBranch, _ := req.Via().Params.Get("branch")
	if again := parse(raw); !s.adopt(again) || param(again) != invBranch {
		t.Errorf("a retransmission got branch %q, want %q", param(again), invBranch)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	out := string(s.restore([]byte(res.String())))
	if !strings.Contains(out, "\r\nVia: SIP/2.0/UDP iftgw.example.com\r\n") {
		t.Errorf("answer Via not restored:\n%s", out)
	}
	ack := parse([]byte(strings.Replace(strings.Replace(string(raw), "INVITE sip:UserB", "ACK sip:UserB", 1), "CSeq: 56 INVITE", "CSeq: 56 ACK", 1)))
	s.adopt(ack)
	if param(ack) == invBranch {
		t.Error("the ACK of a 2xx matched the INVITE transaction")
	}

	var fresh rfc2543Branch
	ack2 := parse([]byte(strings.Replace(strings.Replace(string(raw), "INVITE sip:UserB", "ACK sip:UserB", 1), "CSeq: 56 INVITE", "CSeq: 56 ACK", 1)))
	fresh.adopt(ack2)
	if param(ack2) != invBranch {
		t.Error("the ACK of a non-2xx did not match the INVITE transaction")
	}
	ok := parse(readRFC4475(t, "lwsdisp"))
	if s.adopt(ok) {
		t.Error("an RFC 3261 request was given another branch")
	}
}

func param(req *sip.Request) string {
	b, _ := req.Via().Params.Get("branch")
	return b
}
