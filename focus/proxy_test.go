package focus_test

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
)

var branchRE = regexp.MustCompile(`branch=([^;\s]+)`)

// toContact rewrites the Request-URI of a request the raw phone formatted
// (which names the node it talks to) to the Contact the 200 carried, as a
// phone sends in-dialog requests to the remote target.
func toContact(req string, contact *sip.ContactHeader) string {
	method, rest, _ := strings.Cut(req, " ")
	_, rest, _ = strings.Cut(rest, " ")
	return method + " " + contact.Address.String() + " " + rest
}

// proxyPair runs node B, the rooms' owner, and node A, whose admission hook
// proxies every call to B except for a few rooms whose owner is down or
// which test the loop guard.
type proxyPair struct {
	a, b       *focus.Focus
	am, bm     *focustest.FakeMedia
	areg, breg *prometheus.Registry
	bSaw       chan focus.CallFacts // every call B's hook was asked about
	slowIn     chan struct{}        // B's hook is holding a call to "slow" until its deadline
	// wire is a raw socket A proxies the room "wire" to, to see the
	// forwarded INVITE byte for byte and answer it by hand.
	wire *focustest.RawPhone
}

func newProxyPair(t *testing.T) *proxyPair {
	pp := &proxyPair{areg: prometheus.NewRegistry(), breg: prometheus.NewRegistry(),
		bSaw: make(chan focus.CallFacts, 16), slowIn: make(chan struct{}, 1)}
	var aAddr atomic.Value
	// B's per-address INVITE limit lets one call through: the calls A
	// proxies, all from A's address, are not counted against it.
	pp.b, pp.bm, _ = startFocus(t, focus.Config{Metrics: pp.breg, InviteRate: 0.001, InviteBurst: 1, TrustProxied: trustLoopback, Admit: func(ctx context.Context, c focus.CallFacts) focus.Admission {
		pp.bSaw <- c
		switch c.Room {
		case "slow":
			pp.slowIn <- struct{}{}
			<-ctx.Done()
		case "loop":
			// B thinks A owns the room: the guard must not send it back.
			return focus.Admission{Verdict: focus.Proxy, Contact: aAddr.Load().(string)}
		}
		return focus.Admission{}
	}})
	owner := "sip:" + pp.b.Addr().String()
	deadUDP := fmt.Sprintf("sip:127.0.0.1:%d", testpeer.FreeUDPPort(t))
	deadTCP := fmt.Sprintf("sip:127.0.0.1:%d;transport=tcp", testpeer.FreeTCPPort(t))
	var wire atomic.Value
	pp.a, pp.am, _ = startFocus(t, focus.Config{Metrics: pp.areg, Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
		if c.Proxied {
			t.Errorf("A's hook saw a proxied call: %+v", c)
		}
		switch c.Room {
		case "deadudp":
			return focus.Admission{Verdict: focus.Proxy, Contact: deadUDP}
		case "deadtcp":
			return focus.Admission{Verdict: focus.Proxy, Contact: deadTCP}
		case "overtcp":
			return focus.Admission{Verdict: focus.Proxy, Contact: owner + ";transport=tcp"}
		case "wire":
			return focus.Admission{Verdict: focus.Proxy, Contact: wire.Load().(string)}
		case "badcontact":
			return focus.Admission{Verdict: focus.Proxy, Contact: "tel:+15551234"}
		}
		return focus.Admission{Verdict: focus.Proxy, Contact: owner}
	}})
	aAddr.Store("sip:" + pp.a.Addr().String())
	pp.wire = focustest.NewRawPhone(t, pp.a.Addr())
	wire.Store("sip:" + pp.wire.Addr().String() + ";lr")
	return pp
}

// invite sends an INVITE through A and collects every answer the phone
// gets to it, up to the final one, checking that each carries exactly the
// phone's own Via.
func invite(t *testing.T, p *focustest.RawPhone, c *focustest.Call, req string) (provisional []int, final *sip.Response) {
	t.Helper()
	branch := branchRE.FindStringSubmatch(req)[1]
	p.Send(req)
	for {
		res := p.ResponseTo(c.CallID, sip.INVITE, true)
		vias := res.GetHeaders("Via")
		if len(vias) != 1 || !strings.Contains(vias[0].Value(), "branch="+branch) {
			t.Errorf("%d %s carries Via %v, want only the phone's (branch %s)", res.StatusCode, res.Reason, vias, branch)
		}
		if res.IsProvisional() {
			provisional = append(provisional, res.StatusCode)
			continue
		}
		return provisional, res
	}
}

// ackFinal ACKs a non-2xx final answer as a phone does (same branch, the
// answer's To tag).
func ackFinal(p *focustest.RawPhone, req string, res *sip.Response) {
	tag, _ := res.To().Params.Get("tag")
	lines := strings.Split(req, "\n")
	for i, l := range lines {
		switch {
		case i == 0:
			lines[i] = "ACK" + strings.TrimPrefix(l, "INVITE")
		case strings.HasPrefix(l, "CSeq:"):
			lines[i] = strings.Replace(l, " INVITE", " ACK", 1)
		case strings.HasPrefix(l, "To:") && tag != "":
			lines[i] = l + ";tag=" + tag
		case strings.HasPrefix(l, "Content-"):
			lines[i] = ""
		}
	}
	out := strings.Join(lines, "\n")
	out = strings.Replace(out, "\n\n", "\nContent-Length: 0\n\n", 1)
	p.Send(out[:strings.Index(out, "\n\n")+2])
}

// TestProxyRawPhone checks the Proxy verdict with a hand-written phone: B's
// answers come back through A with only the phone's Via, the dialog then
// runs between the phone and B alone, and A keeps nothing of the call.
func TestProxyRawPhone(t *testing.T) {
	pp := newProxyPair(t)
	p := newRawPhone(t, pp.a)
	pb := focustest.NewRawPhone(t, pp.b.Addr()) // the same phone, talking to B's Contact

	// answered runs a call that B answers through A, then ACKs and hangs
	// it up at B directly.
	answered := func(t *testing.T, room, maxFwd string) {
		t.Helper()
		c := p.Call(room)
		req := c.Request("INVITE", "Content-Type: application/sdp", offer(40000, "0"))
		req = strings.Replace(req, "Max-Forwards: 70", "Max-Forwards: "+maxFwd, 1)
		before := counterValue(t, pp.areg, "bridge_focus_calls_total", "proxied")
		_, res := invite(t, p, c, req)
		if got := counterValue(t, pp.areg, "bridge_focus_calls_total", "proxied"); got != before+1 {
			t.Errorf("A's calls{proxied} went from %v to %v, want one more", before, got)
		}
		if res.StatusCode != sip.StatusOK {
			t.Fatalf("INVITE answered %d %s, want 200", res.StatusCode, res.Reason)
		}
		contact := res.Contact()
		if contact == nil || fmt.Sprintf("%s:%d", contact.Address.Host, contact.Address.Port) != pp.b.Addr().String() {
			t.Fatalf("200 Contact %v, want B at %s", contact, pp.b.Addr())
		}
		if _, ok := contact.Params.Get("isfocus"); !ok {
			t.Errorf("200 Contact %v without isfocus: not B's", contact)
		}
		if !strings.Contains(string(res.Body()), "m=audio") {
			t.Errorf("200 without B's SDP answer: %q", res.Body())
		}
		select {
		case facts := <-pp.bSaw:
			user, _, _ := strings.Cut(room, "+")
			if !facts.Proxied || facts.Room != user || facts.Source.Addr() != pp.a.Addr().Addr() {
				t.Errorf("B's hook saw %+v, want Proxied, room %s, from A at %v", facts, user, pp.a.Addr().Addr())
			}
			if _, tok, ok := strings.Cut(room, "+"); ok && facts.Token != tok {
				t.Errorf("B's hook saw token %q, want %q", facts.Token, tok)
			}
		default:
			t.Fatal("B's hook was never asked")
		}
		c.ToTag, _ = res.To().Params.Get("tag")
		pb.Send(toContact(c.Request("ACK", "", ""), contact))
		user, _, _ := strings.Cut(room, "+")
		waitFor(t, "the call connected on B", func() bool {
			l := pp.b.Legs(user)
			return len(l) == 1 && l[0].State == "connected"
		})
		if l := pp.a.Legs(""); len(l) != 0 {
			t.Errorf("A holds legs %+v, want none", l)
		}
		if pp.am.Leg(1) != nil {
			t.Error("A made a media leg for a proxied call")
		}
		pb.Send(toContact(c.Request("BYE", "", ""), contact))
		if r := pb.ResponseTo(c.CallID, sip.BYE, false); r.StatusCode != sip.StatusOK {
			t.Fatalf("BYE to B answered %d %s", r.StatusCode, r.Reason)
		}
		waitFor(t, "B's room empty", func() bool { return len(pp.b.Legs("")) == 0 && pp.bm.Open() == 0 })
		if got := gauge(t, pp.areg, "bridge_focus_dialogs_active"); got != 0 {
			t.Errorf("A's dialogs gauge %v, want 0", got)
		}
	}

	t.Run("answered", func(t *testing.T) { answered(t, "standup+t0k", "70") })
	// Max-Forwards 1 reaches B as 0, which a UAS takes (RFC 3261 8.2).
	t.Run("max-forwards 1", func(t *testing.T) { answered(t, "standup", "1") })
	// The phone talks UDP to A, A talks TCP to B.
	t.Run("to B over TCP", func(t *testing.T) { answered(t, "overtcp", "70") })

	t.Run("on the wire", func(t *testing.T) {
		c := p.Call("wire+tok")
		req := c.Request("INVITE", "Content-Type: application/sdp\nX-Custom: kept", offer(40000, "0"))
		branch := branchRE.FindStringSubmatch(req)[1]
		p.Send(req)
		fwd := pp.wire.Request(sip.INVITE)
		if want := "sip:wire+tok@" + pp.wire.Addr().String() + ";lr"; fwd.Recipient.String() != want {
			t.Errorf("forwarded Request-URI %s, want %s", fwd.Recipient.String(), want)
		}
		vias := fwd.GetHeaders("Via")
		if len(vias) != 2 || strings.Contains(vias[0].Value(), branch) || !strings.Contains(vias[1].Value(), "branch="+branch) {
			t.Errorf("forwarded Via %v, want A's on top of the phone's (branch %s)", vias, branch)
		}
		if mf := fwd.MaxForwards(); mf == nil || mf.Val() != 69 {
			t.Errorf("forwarded Max-Forwards %v, want 69", mf)
		}
		if h := fwd.GetHeader(focus.ProxiedHeader); h == nil || h.Value() != "sip:"+pp.a.Addr().String() {
			t.Errorf("forwarded %s %v, want A's URI", focus.ProxiedHeader, h)
		}
		if fwd.GetHeader("Record-Route") != nil {
			t.Errorf("forwarded INVITE has a Record-Route: %v", fwd.GetHeader("Record-Route"))
		}
		if h := fwd.GetHeader("X-Custom"); h == nil || h.Value() != "kept" {
			t.Errorf("forwarded INVITE lost a header: X-Custom %v", h)
		}
		if fwd.CallID().Value() != c.CallID || fwd.CSeq().SeqNo != 2 || !strings.Contains(fwd.From().Value(), c.FromTag) {
			t.Errorf("forwarded INVITE changed the dialog identifiers: %s %s %s", fwd.CallID(), fwd.CSeq(), fwd.From())
		}
		if string(fwd.Body()) != strings.ReplaceAll(offer(40000, "0"), "\n", "\r\n") {
			t.Errorf("forwarded body %q", fwd.Body())
		}
		// Ringing and a refusal come back to the phone; the refusal's ACK
		// is A's own business.
		pp.wire.Reply(fwd, sip.StatusRinging, "Ringing", "")
		if r := p.ResponseTo(c.CallID, sip.INVITE, true); r.StatusCode == sip.StatusTrying {
			if r = p.ResponseTo(c.CallID, sip.INVITE, true); r.StatusCode != sip.StatusRinging {
				t.Fatalf("phone got %d %s, want the owner's 180", r.StatusCode, r.Reason)
			}
		} else if r.StatusCode != sip.StatusRinging {
			t.Fatalf("phone got %d %s, want the owner's 180", r.StatusCode, r.Reason)
		}
		pp.wire.Reply(fwd, sip.StatusBusyHere, "Busy Here", "Retry-After: 7")
		res := p.ResponseTo(c.CallID, sip.INVITE, false)
		if res.StatusCode != sip.StatusBusyHere || res.Reason != "Busy Here" {
			t.Fatalf("phone got %d %s, want the owner's 486", res.StatusCode, res.Reason)
		}
		if h := res.GetHeader("Retry-After"); h == nil || h.Value() != "7" {
			t.Errorf("486 relayed without the owner's Retry-After: %v", h)
		}
		if vias := res.GetHeaders("Via"); len(vias) != 1 || !strings.Contains(vias[0].Value(), "branch="+branch) {
			t.Errorf("486 relayed with Via %v, want only the phone's", vias)
		}
		ackFinal(p, req, res)
		ack := pp.wire.Request(sip.ACK)
		if !strings.Contains(ack.Via().Value(), branchRE.FindStringSubmatch(vias[0].Value())[1]) {
			t.Errorf("ACK of the 486 has Via %v, want the forwarded INVITE's branch", ack.Via())
		}
	})

	t.Run("2xx retransmitted", func(t *testing.T) {
		// The owner retransmits its 200 until the phone's ACK reaches it
		// directly; each copy must go on to the phone (RFC 6026 7.3).
		c := p.Call("wire")
		p.Send(c.Request("INVITE", "Content-Type: application/sdp", offer(40000, "0")))
		fwd := pp.wire.Request(sip.INVITE)
		ok := sip.NewResponseFromRequest(fwd, sip.StatusOK, "OK", nil)
		ok.AppendHeader(sip.NewHeader("Contact", "<sip:wire@"+pp.wire.Addr().String()+">"))
		for i := range 2 {
			pp.wire.Send(ok.String())
			res := p.ResponseTo(c.CallID, sip.INVITE, false)
			if res.StatusCode != sip.StatusOK || res.Contact() == nil || res.Contact().Address.User != "wire" {
				t.Fatalf("copy %d of the 200: phone got %d %s with Contact %v", i+1, res.StatusCode, res.Reason, res.Contact())
			}
			if vias := res.GetHeaders("Via"); len(vias) != 1 {
				t.Errorf("copy %d of the 200 relayed with Via %v", i+1, vias)
			}
		}
	})

	t.Run("2xx crossing the CANCEL", func(t *testing.T) {
		c := p.Call("wire")
		req := c.Request("INVITE", "Content-Type: application/sdp", offer(40000, "0"))
		p.Send(req)
		fwd := pp.wire.Request(sip.INVITE)
		pp.wire.Reply(fwd, sip.StatusRinging, "Ringing", "")
		if r := p.ResponseTo(c.CallID, sip.INVITE, true); r.StatusCode == sip.StatusTrying {
			p.ResponseTo(c.CallID, sip.INVITE, true) // the 180
		}
		cancel := strings.Replace(req, "INVITE sip:", "CANCEL sip:", 1)
		cancel = strings.Replace(cancel, "CSeq: 2 INVITE", "CSeq: 2 CANCEL", 1)
		cancel = cancel[:strings.Index(cancel, "Content-Type:")] + "Content-Length: 0\n\n"
		p.Send(cancel)
		res := p.ResponseTo(c.CallID, sip.INVITE, false)
		if res.StatusCode != sip.StatusRequestTerminated {
			t.Fatalf("cancelled INVITE answered %d %s, want 487", res.StatusCode, res.Reason)
		}
		ackFinal(p, req, res)
		// The owner answers the INVITE just as A's CANCEL reaches it.
		fcancel := pp.wire.Request(sip.CANCEL)
		if fcancel.Via().Value() != fwd.Via().Value() {
			t.Errorf("forwarded CANCEL Via %v, want the forwarded INVITE's %v", fcancel.Via(), fwd.Via())
		}
		ok := sip.NewResponseFromRequest(fwd, sip.StatusOK, "OK", nil)
		ok.AppendHeader(sip.NewHeader("Contact", "<sip:wire@"+pp.wire.Addr().String()+">"))
		pp.wire.Send(ok.String())
		pp.wire.Reply(fcancel, sip.StatusOK, "OK", "")
		okTag, _ := ok.To().Params.Get("tag")
		ack := pp.wire.Request(sip.ACK)
		bye := pp.wire.Request(sip.BYE)
		for _, r := range []*sip.Request{ack, bye} {
			if tag, _ := r.To().Params.Get("tag"); r.CallID().Value() != c.CallID || tag != okTag || r.Recipient.User != "wire" {
				t.Errorf("A's %s of the late 200 is %s with %s, %s: not for the owner's dialog", r.Method, r.Recipient.String(), r.CallID(), r.To())
			}
		}
		pp.wire.Reply(bye, sip.StatusOK, "OK", "")
		for {
			select {
			case m := <-p.Inbox:
				if r, isRes := m.(*sip.Response); isRes && r.CSeq().MethodName == sip.INVITE && r.IsSuccess() {
					t.Fatalf("the phone got the 200 that crossed its CANCEL")
				}
				continue
			default:
			}
			break
		}
	})

	t.Run("max-forwards 0", func(t *testing.T) {
		c := p.Call("standup")
		req := strings.Replace(c.Request("INVITE", "", ""), "Max-Forwards: 70", "Max-Forwards: 0", 1)
		if res := inviteAndAck(t, p, c.CallID, req); res.StatusCode != sip.StatusTooManyHops {
			t.Fatalf("INVITE with Max-Forwards 0 answered %d %s, want 483", res.StatusCode, res.Reason)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		c := p.Call("slow")
		req := c.Request("INVITE", "Content-Type: application/sdp", offer(40000, "0"))
		p.Send(req)
		select {
		case <-pp.slowIn:
		case <-time.After(10 * time.Second):
			t.Fatal("the INVITE never reached B")
		}
		<-pp.bSaw
		cancel := strings.Replace(req, "INVITE sip:", "CANCEL sip:", 1)
		cancel = strings.Replace(cancel, "CSeq: 2 INVITE", "CSeq: 2 CANCEL", 1)
		cancel = cancel[:strings.Index(cancel, "Content-Type:")] + "Content-Length: 0\n\n"
		p.Send(cancel)
		if res := p.ResponseTo(c.CallID, sip.CANCEL, false); res.StatusCode != sip.StatusOK {
			t.Fatalf("CANCEL answered %d %s", res.StatusCode, res.Reason)
		}
		res := p.ResponseTo(c.CallID, sip.INVITE, false)
		if res.StatusCode != sip.StatusRequestTerminated {
			t.Fatalf("cancelled INVITE answered %d %s, want 487", res.StatusCode, res.Reason)
		}
		ackFinal(p, req, res)
		// B's hook holds the call until its 5-s deadline, long after A
		// forwarded the CANCEL: the call then finds its transaction
		// cancelled and makes no leg.
		waitFor(t, "B counted the cancelled call", func() bool {
			return counterValue(t, pp.breg, "bridge_focus_calls_total", "487") == 1
		})
		if l := pp.b.Legs(""); len(l) != 0 {
			t.Errorf("B holds legs %+v after the CANCEL", l)
		}
		if l := pp.a.Legs(""); len(l) != 0 {
			t.Errorf("A holds legs %+v", l)
		}
		waitFor(t, "B's media released", func() bool { return pp.bm.Open() == 0 })
	})

	t.Run("loop guard", func(t *testing.T) {
		c := p.Call("loop")
		res := inviteAndAck(t, p, c.CallID, c.Request("INVITE", "", ""))
		if res.StatusCode != sip.StatusLoopDetected {
			t.Fatalf("INVITE B would send back answered %d %s, want B's 482 relayed", res.StatusCode, res.Reason)
		}
		if f := <-pp.bSaw; !f.Proxied {
			t.Errorf("B's hook saw %+v, want Proxied", f)
		}
	})

	t.Run("bad contact", func(t *testing.T) {
		c := p.Call("badcontact")
		if res := inviteAndAck(t, p, c.CallID, c.Request("INVITE", "", "")); res.StatusCode != sip.StatusInternalServerError {
			t.Fatalf("INVITE proxied to tel: answered %d %s, want 500", res.StatusCode, res.Reason)
		}
	})

	// An owner that is down: a closed TCP port refuses at once, a closed
	// UDP port says nothing and the focus gives up after a few seconds,
	// well within inviteAndAck's 10 s.
	for _, room := range []string{"deadtcp", "deadudp"} {
		t.Run(room, func(t *testing.T) {
			c := p.Call(room)
			res := inviteAndAck(t, p, c.CallID, c.Request("INVITE", "Content-Type: application/sdp", offer(40000, "0")))
			if res.StatusCode != sip.StatusServiceUnavailable {
				t.Fatalf("INVITE to a dead owner answered %d %s, want 503", res.StatusCode, res.Reason)
			}
			if h := res.GetHeader("Retry-After"); h == nil || h.Value() == "" {
				t.Errorf("503 without Retry-After")
			}
		})
	}

	t.Run("B still limits direct callers", func(t *testing.T) {
		for i, want := range []int{sip.StatusBadExtension, sip.StatusServiceUnavailable} {
			c := pb.Call("direct")
			res := inviteAndAck(t, pb, c.CallID, c.Request("INVITE", "Require: 100rel", ""))
			if res.StatusCode != want {
				t.Fatalf("direct INVITE %d to B answered %d %s, want %d", i+1, res.StatusCode, res.Reason, want)
			}
		}
	})

	if l := pp.a.Legs(""); len(l) != 0 {
		t.Errorf("A holds legs %+v at the end", l)
	}
	// A still answers ordinary requests.
	c := p.Call("standup")
	c.Send("OPTIONS", "", "")
	if res := p.ResponseTo(c.CallID, sip.OPTIONS, false); res.StatusCode != sip.StatusOK {
		t.Fatalf("OPTIONS after proxying answered %d", res.StatusCode)
	}
}

// TestProxyRealPhone has a real baresip dial node A, which proxies the call
// to node B, the room's owner with a real mixer: the call is established,
// B carries the leg and A none, and hanging up works. The phone talks UDP,
// then TCP, to A, and A talks the same to B.
func TestProxyRealPhone(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "baresip")
	saw := make(chan focus.CallFacts, 4)
	b, breg := realFocusWith(t, focus.Config{Domain: "127.0.0.1", TrustProxied: trustLoopback, Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
		saw <- c
		return focus.Admission{}
	}})
	areg := prometheus.NewRegistry()
	var owner atomic.Value // the Contact A proxies to
	a := runFocus(t, focus.Config{Domain: "127.0.0.1", Metrics: areg, Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
		return focus.Admission{Verdict: focus.Proxy, Contact: owner.Load().(string)}
	}})
	phone := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneWAV(t, 440, 60)})

	for _, tc := range []struct{ name, params string }{
		{"udp", ""},
		{"tcp", ";transport=tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			owner.Store("sip:" + b.Addr().String() + tc.params)
			before := counterValue(t, areg, "bridge_focus_calls_total", "proxied")
			established := strings.Count(phone.Log(), "Call established")
			if err := phone.Dial(ctx, "sip:standup+t0k@"+a.Addr().String()+tc.params); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "baresip: Call established", func() bool {
				return strings.Count(phone.Log(), "Call established") > established
			})
			waitFor(t, "the call connected on B", func() bool {
				l := b.Legs("standup")
				return len(l) == 1 && l[0].State == "connected"
			})
			select {
			case c := <-saw:
				if !c.Proxied || c.Room != "standup" || c.Token != "t0k" || c.Source.Addr() != a.Addr().Addr() {
					t.Errorf("B's hook saw %+v, want a proxied call to standup with token t0k from A at %v", c, a.Addr().Addr())
				}
			default:
				t.Error("B's hook was never asked")
			}
			if l := a.Legs(""); len(l) != 0 {
				t.Errorf("A holds legs %+v, want none", l)
			}
			if got := counterValue(t, areg, "bridge_focus_calls_total", "proxied"); got != before+1 {
				t.Errorf("A's calls{proxied} went from %v to %v, want one more", before, got)
			}
			if testing.Verbose() {
				t.Logf("baresip log:\n%s", phone.Log())
			}
			if err := phone.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "B's room empty", func() bool { return len(b.Legs("")) == 0 })
			released(t, breg)
		})
	}
}

// BenchmarkProxiedCallSetup compares the INVITE -> 200 time of a call
// answered by the node it reaches with one proxied to the owner node (one
// caller at a time, loopback, fake media); each call is then ACKed and hung
// up at the owner.
func BenchmarkProxiedCallSetup(b *testing.B) {
	owner, _, _ := startFocus(b, focus.Config{InviteRate: 1e9, InviteBurst: 1 << 30, TrustProxied: trustLoopback, OnEvent: func(focus.Event) {}})
	front, _, _ := startFocus(b, focus.Config{InviteRate: 1e9, InviteBurst: 1 << 30, OnEvent: func(focus.Event) {},
		Admit: func(context.Context, focus.CallFacts) focus.Admission {
			return focus.Admission{Verdict: focus.Proxy, Contact: "sip:" + owner.Addr().String()}
		}})
	for _, bc := range []struct {
		name  string
		entry *focus.Focus
	}{{"direct", owner}, {"proxied", front}} {
		b.Run(bc.name, func(b *testing.B) {
			p := focustest.NewRawPhone(b, bc.entry.Addr())
			po := focustest.NewRawPhone(b, owner.Addr())
			setups := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				c := p.Call("bench")
				t0 := time.Now()
				c.Send("INVITE", "", offer(40000, "0"))
				res := p.ResponseTo(c.CallID, sip.INVITE, false)
				setups = append(setups, time.Since(t0))
				if res.StatusCode != sip.StatusOK {
					b.Fatalf("INVITE answered %d %s", res.StatusCode, res.Reason)
				}
				c.ToTag, _ = res.To().Params.Get("tag")
				po.Send(toContact(c.Request("ACK", "", ""), res.Contact()))
				po.Send(toContact(c.Request("BYE", "", ""), res.Contact()))
				if r := po.ResponseTo(c.CallID, sip.BYE, false); r.StatusCode != sip.StatusOK {
					b.Fatalf("BYE answered %d", r.StatusCode)
				}
			}
			report(b, setups, time.Since(start))
		})
	}
}

// trustLoopback trusts the other nodes of these tests, all on loopback.
func trustLoopback(a netip.Addr) bool { return a.IsLoopback() }

// TestProxiedHeaderFromStranger: a phone that writes the header itself,
// from an address the focus does not trust as a bridge node, is treated
// as any phone: its call is not marked proxied and the INVITE limit holds.
func TestProxiedHeaderFromStranger(t *testing.T) {
	saw := make(chan focus.CallFacts, 4)
	f, _, _ := startFocus(t, focus.Config{InviteRate: 0.001, InviteBurst: 1,
		TrustProxied: func(netip.Addr) bool { return false },
		Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
			saw <- c
			return focus.Admission{}
		}})
	phone := focustest.NewRawPhone(t, f.Addr())
	forged := focus.ProxiedHeader + ": sip:192.0.2.1:5060"
	if res := phone.Call("standup").Invite(forged, focustest.Offer(testpeer.FreeUDPPort(t), "0")); res.StatusCode != 200 {
		t.Fatalf("first call: %d %s", res.StatusCode, res.Reason)
	}
	if c := <-saw; c.Proxied {
		t.Error("a forged header marked the call as proxied by a node")
	}
	if res := phone.Call("standup").Invite(forged, focustest.Offer(testpeer.FreeUDPPort(t), "0")); res.StatusCode != 503 {
		t.Errorf("second call over the INVITE limit with a forged header = %d %s, want 503", res.StatusCode, res.Reason)
	}
}
