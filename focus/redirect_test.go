package focus_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
)

// counterValue reads one labelled counter from a registry (0 when absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestRedirectMoved checks the 302 a Moved verdict gives: the Contact is
// the owner node's URI carrying the Request-URI's user part, and nothing
// of a call is left on this node. A Contact the hook got wrong gives 500
// and leaves the focus serving.
func TestRedirectMoved(t *testing.T) {
	// The room name picks the Contact the hook answers with.
	contacts := map[string]string{
		"udp":     "sip:127.0.0.1:5072",
		"tcp":     "sip:10.0.0.7:5060;transport=tcp",
		"sips":    "sips:[::1]:5061",
		"named":   "sip:bridge-1.bridge.cusax.svc:5060",
		"hasuser": "sip:someone@127.0.0.1:5080",
		"reason":  "sip:127.0.0.1:5090",

		"empty":     "",
		"noscheme":  "127.0.0.1:5072",
		"http":      "http://127.0.0.1/",
		"tel":       "tel:+15551234",
		"nohost":    "sip:",
		"space":     "sip:127.0.0.1 :5072",
		"brackets":  "<sip:127.0.0.1:5072>",
		"crlf":      "sip:127.0.0.1:5072\r\nX-Evil: 1",
		"badport":   "sip:127.0.0.1:port",
		"bigport":   "sip:127.0.0.1:70000",
		"badhost":   "sip:bad_host!:5060",
		"headers":   "sip:127.0.0.1:5072?Subject=hi",
		"password":  "sip:u:pw@127.0.0.1:5072",
		"badv6":     "sip:[zz::1]:5060",
		"v6unbrack": "sip:::1",
	}
	reg := prometheus.NewRegistry()
	f, fm, events := startFocus(t, focus.Config{Metrics: reg, Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
		target, ok := contacts[c.Room]
		if !ok {
			return focus.Admission{}
		}
		a := focus.Admission{Verdict: focus.Moved, Contact: target}
		if c.Room == "reason" {
			a.Reason = "Room Lives Elsewhere"
		}
		return a
	}})
	p := newRawPhone(t, f)

	moved := []struct {
		user, want, reason string
	}{
		{"udp", "sip:udp@127.0.0.1:5072", "Moved Temporarily"},
		{"udp+tok3n", "sip:udp+tok3n@127.0.0.1:5072", "Moved Temporarily"},
		{"tcp", "sip:tcp@10.0.0.7:5060;transport=tcp", "Moved Temporarily"},
		{"tcp+A1b2", "sip:tcp+A1b2@10.0.0.7:5060;transport=tcp", "Moved Temporarily"},
		{"sips", "sips:sips@[::1]:5061", "Moved Temporarily"},
		{"named", "sip:named@bridge-1.bridge.cusax.svc:5060", "Moved Temporarily"},
		{"hasuser", "sip:hasuser@127.0.0.1:5080", "Moved Temporarily"},
		{"reason", "sip:reason@127.0.0.1:5090", "Room Lives Elsewhere"},
	}
	for _, tc := range moved {
		t.Run("moved/"+tc.user, func(t *testing.T) {
			c := p.Call(tc.user)
			res := inviteAndAck(t, p, c.CallID, c.Request("INVITE", "Content-Type: application/sdp", offer(40000, "0")))
			if res.StatusCode != sip.StatusMovedTemporarily || res.Reason != tc.reason {
				t.Fatalf("INVITE answered %d %s, want 302 %s", res.StatusCode, res.Reason, tc.reason)
			}
			cs := res.GetHeaders("Contact")
			if len(cs) != 1 {
				t.Fatalf("302 carries %d Contact headers, want 1: %v", len(cs), cs)
			}
			if got := cs[0].Value(); got != "<"+tc.want+">" {
				t.Errorf("Contact %q, want <%s>", got, tc.want)
			}
			if len(res.Body()) != 0 {
				t.Errorf("302 with a body: %q", res.Body())
			}
		})
	}

	bad := []string{"empty", "noscheme", "http", "tel", "nohost", "space", "brackets", "crlf",
		"badport", "bigport", "badhost", "headers", "password", "badv6", "v6unbrack"}
	for _, room := range bad {
		t.Run("bad/"+room, func(t *testing.T) {
			c := p.Call(room + "+tok")
			res := inviteAndAck(t, p, c.CallID, c.Request("INVITE", "Content-Type: application/sdp", offer(40000, "0")))
			if res.StatusCode != sip.StatusInternalServerError {
				t.Fatalf("Contact %q: INVITE answered %d %s, want 500", contacts[room], res.StatusCode, res.Reason)
			}
			if res.Contact() != nil {
				t.Errorf("500 carries a Contact: %v", res.Contact())
			}
		})
	}

	t.Run("bad request-uri user", func(t *testing.T) {
		// sipgo takes everything before the @ as the user part; what RFC
		// 3261 does not allow there cannot be written back into a Contact.
		c := p.Call("udp+x")
		req := c.Request("INVITE", "", "")
		req = strings.Replace(req, "sip:udp+x@", "sip:udp+x{y@", 1)
		res := inviteAndAck(t, p, c.CallID, req)
		if res.StatusCode != sip.StatusBadRequest {
			t.Fatalf("INVITE to udp+x{y answered %d %s, want 400", res.StatusCode, res.Reason)
		}
	})

	// Nothing of a call stayed: no leg, no media, no dialog, no event.
	if legs := f.Legs(""); len(legs) != 0 {
		t.Errorf("legs after redirects: %+v", legs)
	}
	if fm.Leg(1) != nil {
		t.Error("a media leg was made for a redirected call")
	}
	if n := len(events.Find(focus.EventJoined)) + len(events.Find(focus.EventLeft)); n != 0 {
		t.Errorf("%d join/leave events for redirected calls", n)
	}
	if got := counterValue(t, reg, "bridge_focus_calls_total", "moved"); got != float64(len(moved)) {
		t.Errorf("calls{moved} = %v, want %d", got, len(moved))
	}
	if got := counterValue(t, reg, "bridge_focus_calls_total", "500"); got != float64(len(bad)) {
		t.Errorf("calls{500} = %v, want %d", got, len(bad))
	}

	// The focus still serves an ordinary call.
	c := p.Call("here")
	if res := c.Invite("", offer(40002, "0")); res.StatusCode != 200 {
		t.Fatalf("ordinary call after redirects answered %d %s", res.StatusCode, res.Reason)
	}
	waitFor(t, "connected", func() bool { l := f.Legs("here"); return len(l) == 1 && l[0].State == "connected" })
	if r := c.Bye(); r.StatusCode != 200 {
		t.Fatalf("BYE answered %d", r.StatusCode)
	}
	waitFor(t, "media released", func() bool { return fm.Open() == 0 })
	if got := gauge(t, reg, "bridge_focus_dialogs_active"); got != 0 {
		t.Errorf("dialogs active %v after the last BYE", got)
	}
}

// TestRedirectRealPhone has a real baresip dial node A, which answers 302
// to node B, the room's owner: the phone must follow the redirect, on the
// transport the Contact names, and end up in the room on B.
func TestRedirectRealPhone(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "baresip")
	b, breg := realFocus(t)
	asked := make(chan focus.CallFacts, 4)
	var owner atomic.Value // the Contact A answers with
	a := runFocus(t, focus.Config{Domain: "127.0.0.1", Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
		asked <- c
		return focus.Admission{Verdict: focus.Moved, Contact: owner.Load().(string)}
	}})
	phone := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneWAV(t, 440, 60)})

	for _, tc := range []struct{ name, contact string }{
		{"udp", "sip:" + b.Addr().String()},
		{"tcp", "sip:" + b.Addr().String() + ";transport=tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			owner.Store(tc.contact)
			if err := phone.Dial(ctx, "sip:standup+t0k@"+a.Addr().String()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the call connected on B", func() bool {
				l := b.Legs("standup")
				return len(l) == 1 && l[0].State == "connected"
			})
			select {
			case c := <-asked:
				if c.Room != "standup" || c.Token != "t0k" {
					t.Errorf("A's admission hook saw %+v, want a call to standup with token t0k", c)
				}
			default:
				t.Error("A's admission hook was never asked: the phone did not go through A")
			}
			if len(asked) != 0 {
				t.Errorf("A was asked %d more times", len(asked))
			}
			l := b.Legs("standup")[0]
			if l.Call.Token != "t0k" {
				t.Errorf("B's leg has token %q, want the one the phone dialled A with", l.Call.Token)
			}
			// baresip sends UDP from its SIP socket and TCP from a
			// connection of its own: the source port tells the transport.
			if fromSIPPort := l.Call.Source.Port() == uint16(phone.SIPPort); fromSIPPort != (tc.name == "udp") {
				t.Errorf("B's leg came from %v (phone SIP port %d): not over %s as the Contact says", l.Call.Source, phone.SIPPort, tc.name)
			}
			if l := a.Legs(""); len(l) != 0 {
				t.Errorf("A holds legs %+v, want none", l)
			}
			if testing.Verbose() {
				t.Logf("baresip log:\n%s", phone.Log()) // shows the 302 being followed
			}
			if err := phone.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "B's room empty", func() bool { return len(b.Legs("")) == 0 })
			released(t, breg)
		})
	}
}

// FuzzRedirect sends INVITEs whose Request-URI user part comes from the
// network and whose Moved Contact comes from the admission hook, both
// fuzzed, through a real focus: every answer must be one a phone can parse,
// and a 302 must carry exactly the user part sent at the hook's host, port
// and parameters.
func FuzzRedirect(f *testing.F) {
	for _, s := range [][2]string{
		{"standup", "sip:127.0.0.1:5072"},
		{"standup+tok3n", "sip:10.0.0.7:5060;transport=tcp"},
		{"room+A%41b", "sips:[::1]:5061"},
		{"r+x{y", "sip:node-1.example:5060"},
		{"r", "sip:127.0.0.1:5072;lr;maddr=127.0.0.2"},
		{"r", "<sip:127.0.0.1>"},
		{"r", "sip:127.0.0.1:5072\r\nX: 1"},
		{"r+a;b=c", "sip:127.0.0.1:5072?h=v"},
		{"r", "tel:+1555"},
		{"r", ""},
	} {
		f.Add(s[0], s[1])
	}
	var contacts sync.Map // Call-ID → the Contact the hook answers with
	// No per-address INVITE limit: every input comes from 127.0.0.1.
	fc := serveFocus(f, focus.Config{Listen: "127.0.0.1:0", Media: focustest.NewFakeMedia(), Metrics: prometheus.NewRegistry(),
		InviteRate: 1e9, InviteBurst: 1 << 30,
		Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
			v, _ := contacts.Load(c.CallID)
			s, _ := v.(string)
			return focus.Admission{Verdict: focus.Moved, Contact: s}
		}})
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, user, contact string) {
		p := focustest.NewRawPhone(t, fc.Addr()) // RawPhone calls Helper on its testing.TB
		c := p.Call("room")
		req := strings.Replace(c.Request("INVITE", "", ""), "sip:room@", "sip:"+user+"@", 1)
		if _, err := parser.ParseSIP([]byte(strings.ReplaceAll(req, "\n", "\r\n"))); err != nil || strings.Contains(user, "\n") {
			return // not a request a phone could send: the focus's 400 path is fuzzed elsewhere
		}
		contacts.Store(c.CallID, contact)
		defer contacts.Delete(c.CallID)
		res := inviteAndAck(t, p, c.CallID, req)
		switch res.StatusCode {
		case sip.StatusMovedTemporarily:
			cs := res.GetHeaders("Contact")
			if len(cs) != 1 {
				t.Fatalf("302 with %d Contacts: %v", len(cs), cs)
			}
			got := res.Contact()
			var want sip.Uri
			if err := sip.ParseUri(contact, &want); err != nil {
				t.Fatalf("302 for a Contact %q that does not parse: %v", contact, err)
			}
			if got == nil || got.Address.User != user || got.Address.Host != want.Host || got.Address.Port != want.Port || got.Address.Scheme != want.Scheme {
				t.Fatalf("302 Contact %v for user %q and hook Contact %q", got, user, contact)
			}
		case sip.StatusBadRequest, sip.StatusNotFound, sip.StatusInternalServerError:
		default:
			t.Fatalf("user %q, Contact %q: answered %d %s", user, contact, res.StatusCode, res.Reason)
		}
	})
}

// inviteAndAck sends an INVITE given as text and returns its final answer,
// which it ACKs as a phone does a non-2xx one (RFC 3261 17.1.1.3: same
// branch, the answer's To tag), so the focus stops retransmitting it. It
// fails the test when the answer does not come or does not parse.
func inviteAndAck(t testing.TB, p *focustest.RawPhone, callID, invite string) *sip.Response {
	t.Helper()
	p.Send(invite)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case raw := <-p.Raw:
			if strings.Contains(raw, callID) {
				t.Fatalf("unparseable answer to the INVITE:\n%s", raw)
			}
		case m := <-p.Inbox:
			res, ok := m.(*sip.Response)
			if !ok || res.CallID().Value() != callID || res.CSeq().MethodName != sip.INVITE || res.IsProvisional() {
				continue
			}
			if !res.IsSuccess() {
				tag, _ := res.To().Params.Get("tag")
				lines := strings.Split(invite, "\n")
				for i, l := range lines {
					switch {
					case i == 0:
						lines[i] = "ACK" + strings.TrimPrefix(l, "INVITE")
					case strings.HasPrefix(l, "CSeq:"):
						lines[i] = strings.Replace(l, " INVITE", " ACK", 1)
					case strings.HasPrefix(l, "To:") && tag != "":
						lines[i] = l + ";tag=" + tag
					}
				}
				p.Send(strings.Join(lines, "\n"))
			}
			return res
		case <-deadline:
			t.Fatalf("no final answer to INVITE %s", callID)
			return nil
		}
	}
}
