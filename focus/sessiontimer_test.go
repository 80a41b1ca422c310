package focus_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"cusax.dev/bridge/focus"
)

func TestSessionTimerExpiresUnrefreshedCall(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	focus.SetSessionExpires(f, 3*time.Second)
	p := newRawPhone(t, f)
	c := p.Call("timer")
	res := c.Invite("Supported: timer\n", offer(40000, "0"))
	if h := res.GetHeader("Session-Expires"); res.StatusCode != 200 || h == nil || h.Value() != "3;refresher=uac" || res.GetHeader("Require") == nil {
		t.Fatalf("answer %d Session-Expires %v", res.StatusCode, h)
	}
	bye := p.Request(sip.BYE)
	p.Reply(bye, 200, "OK", "")
	waitFor(t, "released", func() bool { return fm.Open() == 0 })
	if ev := events.Find(focus.EventLeft); len(ev) != 1 || ev[0].Reason != "failed" {
		t.Errorf("left %+v", ev)
	}
}

func TestSessionTimerFocusRefreshes(t *testing.T) {
	f, fm, _ := startFocus(t, focus.Config{})
	focus.SetSessionExpires(f, 2*time.Second)
	p := newRawPhone(t, f)
	c := p.Call("timer2")
	res := c.Invite("Allow: INVITE, ACK, BYE, UPDATE\n", offer(40000, "0"))
	if h := res.GetHeader("Session-Expires"); h == nil || !strings.HasSuffix(h.Value(), "refresher=uas") {
		t.Fatalf("Session-Expires %v, want the focus to refresh", h)
	}
	for i := 0; i < 2; i++ {
		up := p.Request(sip.UPDATE)
		if h := up.GetHeader("Session-Expires"); h == nil || h.Value() != "2;refresher=uac" {
			t.Errorf("UPDATE Session-Expires %v, want 2;refresher=uac", h)
		}
		p.Reply(up, 200, "OK", "")
	}
	if l := f.Legs("timer2"); len(l) != 1 || l[0].State != "connected" {
		t.Fatalf("refreshed call: %+v", l)
	}
	// A refresh answered 481 ends the call.
	up := p.Request(sip.UPDATE)
	p.Reply(up, 481, "Call/Transaction Does Not Exist", "")
	bye := p.Request(sip.BYE)
	p.Reply(bye, 200, "OK", "")
	waitFor(t, "released", func() bool { return fm.Open() == 0 })
}

// TestSessionTimerRefreshByReinvite: a phone whose Allow lacks UPDATE and
// which does not support timers is refreshed by re-INVITE (RFC 4028
// section 9 and 7.4): the same session description offered again, the
// phone's answer ACKed, the call kept; a refused re-INVITE ends it.
func TestSessionTimerRefreshByReinvite(t *testing.T) {
	f, fm, _ := startFocus(t, focus.Config{})
	focus.SetSessionExpires(f, 2*time.Second)
	p := newRawPhone(t, f)
	c := p.Call("timer3")
	res := c.Invite("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\n", offer(40000, "0"))
	if h := res.GetHeader("Session-Expires"); res.StatusCode != 200 || h == nil || h.Value() != "2;refresher=uas" {
		t.Fatalf("answer %d Session-Expires %v, want the focus to refresh", res.StatusCode, h)
	}
	if res.GetHeader("Require") != nil {
		t.Errorf("Require %v sent to a phone without timer support", res.GetHeader("Require"))
	}
	answer := string(res.Body())
	for i := 0; i < 2; i++ {
		inv := p.Request(sip.INVITE)
		if inv.CallID().Value() != c.CallID {
			t.Fatalf("re-INVITE on Call-ID %s, want %s", inv.CallID().Value(), c.CallID)
		}
		if tag, _ := inv.To().Params.Get("tag"); tag != c.FromTag {
			t.Errorf("re-INVITE To tag %q, want the phone's %q", tag, c.FromTag)
		}
		if tag, _ := inv.From().Params.Get("tag"); tag != c.ToTag {
			t.Errorf("re-INVITE From tag %q, want the focus's %q", tag, c.ToTag)
		}
		if h := inv.GetHeader("Session-Expires"); h == nil || h.Value() != "2;refresher=uac" {
			t.Errorf("re-INVITE Session-Expires %v, want 2;refresher=uac", h)
		}
		// RFC 3264 section 8: an unchanged session keeps its o= version.
		if got := originLine(string(inv.Body())); got == "" || got != originLine(answer) {
			t.Errorf("re-INVITE o= %q, want the unchanged %q", got, originLine(answer))
		}
		p.ReplySDP(inv, offer(40000, "0"))
		ack := p.Request(sip.ACK)
		if ack.CSeq().SeqNo != inv.CSeq().SeqNo || ack.CallID().Value() != c.CallID {
			t.Errorf("ACK CSeq %v Call-ID %s for re-INVITE CSeq %v", ack.CSeq(), ack.CallID().Value(), inv.CSeq())
		}
	}
	if l := f.Legs("timer3"); len(l) != 1 || l[0].State != "connected" {
		t.Fatalf("refreshed call: %+v", l)
	}
	if p.Received(sip.UPDATE) != 0 {
		t.Errorf("focus sent UPDATE to a phone that does not allow it")
	}
	// A refresh answered 481 ends the call.
	inv := p.Request(sip.INVITE)
	p.Reply(inv, 481, "Call/Transaction Does Not Exist", "")
	bye := p.Request(sip.BYE)
	p.Reply(bye, 200, "OK", "")
	waitFor(t, "released", func() bool { return fm.Open() == 0 })
}

func originLine(sdp string) string {
	for _, line := range strings.Split(sdp, "\n") {
		if strings.HasPrefix(line, "o=") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
