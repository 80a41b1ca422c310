package focus_test

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
)

// answerWithoutAck sends an INVITE and takes its 200 without ACKing it.
func answerWithoutAck(t *testing.T, f *focus.Focus, p *focustest.RawPhone, room string) *focustest.Call {
	t.Helper()
	c := p.Call(room)
	c.Send("INVITE", "", offer(40000, "0"))
	res := p.ResponseTo(c.CallID, sip.INVITE, false)
	if res.StatusCode != 200 {
		t.Fatalf("INVITE answered %d", res.StatusCode)
	}
	c.ToTag, _ = res.To().Params.Get("tag")
	return c
}

// TestKickBeforeAckWaitsForAck: a call kicked right after its 200 OK gets
// no BYE until its ACK arrives (RFC 3261 section 15); the 200 keeps being
// retransmitted meanwhile, and the BYE follows the ACK.
func TestKickBeforeAckWaitsForAck(t *testing.T) {
	f, fm, _ := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	c := answerWithoutAck(t, f, p, "early")

	kicked := make(chan error, 1)
	go func() { kicked <- f.Kick(context.Background(), c.CallID, "kicked early") }()
	waitFor(t, "the leg ending", func() bool { l := f.Legs("early"); return len(l) == 1 && l[0].State == "ending" })

	// Two retransmissions of the 200 (T1 and 3*T1 after it) with no BYE.
	retransmits := 0
	deadline := time.After(15 * time.Second)
	for retransmits < 2 {
		select {
		case m := <-p.Inbox:
			switch m := m.(type) {
			case *sip.Request:
				if m.Method == sip.BYE {
					t.Fatalf("BYE sent before the ACK (after %d retransmissions of the 200)", retransmits)
				}
			case *sip.Response:
				if m.CSeq().MethodName == sip.INVITE && m.StatusCode == 200 {
					retransmits++
				}
			}
		case <-deadline:
			t.Fatalf("the 200 was retransmitted %d times, want it retransmitted until the ACK", retransmits)
		}
	}
	select {
	case err := <-kicked:
		t.Fatalf("Kick returned (%v) before the ACK", err)
	default:
	}

	c.Send("ACK", "", "")
	bye := p.Request(sip.BYE)
	if bye.CallID().Value() != c.CallID {
		t.Errorf("BYE for %s, want %s", bye.CallID().Value(), c.CallID)
	}
	if h := bye.GetHeader("Reason"); h == nil {
		t.Error("BYE without the kick's Reason")
	}
	p.Reply(bye, 200, "OK", "")
	select {
	case err := <-kicked:
		if err != nil {
			t.Errorf("Kick: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Kick did not return after the BYE was answered")
	}
	waitFor(t, "released", func() bool { return fm.Open() == 0 && len(f.Legs("early")) == 0 })
}

// TestShutdownBeforeAckIsBounded: a shutdown whose deadline ends while a
// call's ACK is still missing releases the call without sending the BYE
// the RFC forbids, instead of waiting the full 64*T1.
func TestShutdownBeforeAckIsBounded(t *testing.T) {
	f, fm, _ := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	answerWithoutAck(t, f, p, "early2")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_ = f.Shutdown(ctx) // may report the deadline: the call was not hung up by BYE
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Shutdown took %v with a 1 s deadline", took)
	}
	waitFor(t, "released", func() bool { return fm.Open() == 0 && len(f.Legs("early2")) == 0 })
	if n := p.Received(sip.BYE); n != 0 {
		t.Errorf("%d BYEs sent before the ACK", n)
	}
}
