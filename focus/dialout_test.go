package focus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	confinfo "cusax.dev/bridge/conference-info"
	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
)

func TestDialOutCancelWhileRinging(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := focustest.NewWatcher(t, f.Addr(), "out")
	if code, err := w.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE %d %v", code, err)
	}
	callee := newRawPhone(t, f)
	results := make(chan focus.DialResult, 1)
	callID, err := f.Dial(ctx, "out", "sip:carol@"+callee.Addr().String(), "Carol", func(r focus.DialResult) { results <- r })
	if err != nil {
		t.Fatal(err)
	}
	inv := callee.Request(sip.INVITE)
	if c := inv.Contact(); c == nil || !c.Params.Has("isfocus") {
		t.Errorf("dial-out Contact %v, want ;isfocus", inv.Contact())
	}
	if !strings.Contains(string(inv.Body()), "m=audio") {
		t.Errorf("dial-out INVITE without an offer:\n%s", inv.Body())
	}
	callee.Reply(inv, 180, "Ringing", "")
	waitFor(t, "alerting", func() bool { l := f.Legs("out"); return len(l) == 1 && l[0].State == "alerting" })
	w.WaitFor("alerting in conference-info", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		_, ep, ok := focustest.Endpoint(doc, callID)
		return ok && ep.Status == confinfo.StatusAlerting && ep.JoiningMethod == confinfo.JoinDialedOut
	})
	if n := len(events.Find(focus.EventAlerting)); n != 1 {
		t.Errorf("%d alerting events", n)
	}
	if err := f.Kick(ctx, callID, "never mind"); err != nil {
		t.Fatal(err)
	}
	c := callee.Request(sip.CANCEL)
	callee.Reply(c, 200, "OK", "")
	callee.Reply(inv, 487, "Request Terminated", "")
	select {
	case r := <-results:
		if r.Status != 487 {
			t.Errorf("dial-out ended %d, want 487", r.Status)
		}
	case <-ctx.Done():
		t.Fatal("dial-out never ended")
	}
	waitFor(t, "released", func() bool { return len(f.Legs("")) == 0 && fm.Open() == 0 })
	// The focus ACKs the 487 (RFC 3261 17.1.1.3).
	ack := callee.Request(sip.ACK)
	if ack.CSeq().SeqNo != inv.CSeq().SeqNo {
		t.Errorf("ACK CSeq %d", ack.CSeq().SeqNo)
	}
}

func TestDialOutAnsweredThenHungUp(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	callee := newRawPhone(t, f)
	callID, err := f.Dial(ctx, "out2", "sip:dave@"+callee.Addr().String(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := callee.Request(sip.INVITE)
	ans := offer(41000, "8")
	res := sip.NewResponseFromRequest(inv, 200, "OK", []byte(strings.ReplaceAll(ans, "\n", "\r\n")))
	res.AppendHeader(sip.NewHeader("Contact", "<sip:dave@"+callee.Addr().String()+">"))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	callee.Send(res.String())
	ack := callee.Request(sip.ACK)
	if ack.CallID().Value() != callID {
		t.Fatalf("ACK for %s", ack.CallID().Value())
	}
	waitFor(t, "connected", func() bool { l := f.Legs("out2"); return len(l) == 1 && l[0].State == "connected" })
	cfg, _, _, _ := fm.Leg(1).State()
	if cfg.Codec.Name != "PCMA" || cfg.Remote.Port() != 41000 {
		t.Errorf("media %+v", cfg)
	}
	// The callee hangs up.
	toTag, _ := res.To().Params.Get("tag")
	fromTag, _ := inv.From().Params.Get("tag")
	bye := "BYE sip:out2@" + f.Addr().String() + " SIP/2.0\nVia: SIP/2.0/UDP " + callee.Addr().String() + ";branch=z9hG4bKbye1\nMax-Forwards: 70\nFrom: <sip:dave@127.0.0.1>;tag=" + toTag + "\nTo: <sip:out2@example.test>;tag=" + fromTag + "\nCall-ID: " + callID + "\nCSeq: 1 BYE\nContent-Length: 0\n\n"
	callee.Send(bye)
	if r := callee.Response(sip.BYE, false); r.StatusCode != 200 {
		t.Fatalf("BYE answered %d", r.StatusCode)
	}
	waitFor(t, "released", func() bool { return fm.Open() == 0 && len(events.Find(focus.EventLeft)) == 1 })
}

func TestReferToFocusDialsOut(t *testing.T) {
	f, _, _ := startFocus(t, focus.Config{})
	referrer := newRawPhone(t, f)
	callee := newRawPhone(t, f)
	c := referrer.Call("refroom")
	c.Send("REFER", "Refer-To: <sip:erin@"+callee.Addr().String()+">\n", "")
	// Send with an empty body adds no Content-Type; REFER needs none.
	if r := referrer.Response(sip.REFER, false); r.StatusCode != 202 {
		t.Fatalf("REFER answered %d", r.StatusCode)
	}
	trying := referrer.Request(sip.NOTIFY)
	if !strings.Contains(string(trying.Body()), "100 Trying") {
		t.Errorf("first refer NOTIFY %q", trying.Body())
	}
	referrer.Reply(trying, 200, "OK", "")
	inv := callee.Request(sip.INVITE)
	callee.Reply(inv, 486, "Busy Here", "")
	final := referrer.Request(sip.NOTIFY)
	if !strings.Contains(string(final.Body()), "486") || !strings.HasPrefix(final.GetHeader("Subscription-State").Value(), "terminated") {
		t.Errorf("final refer NOTIFY %q %v", final.Body(), final.GetHeader("Subscription-State"))
	}
	referrer.Reply(final, 200, "OK", "")
	waitFor(t, "no legs", func() bool { return len(f.Legs("")) == 0 })
}
