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
