package focus_test

import (
	"context"
	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/mixer"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"
)

func TestCancelBeforeAnswer(t *testing.T) {
	release := make(chan struct{})
	admit := func(ctx context.Context, c focus.CallFacts) focus.Admission {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return focus.Admission{}
	}
	f, fm, events := startFocus(t, focus.Config{Admit: admit})
	p := newRawPhone(t, f)
	c := p.Call("r")
	inv := c.Request("INVITE", "Content-Type: application/sdp\n", offer(40000, "0"))
	p.Send(inv)
	if res := p.Response(sip.INVITE, true); res.StatusCode != 100 {
		t.Fatalf("got %d, want 100", res.StatusCode)
	}
	// CANCEL reuses the INVITE's Via branch and CSeq number.
	cancel := strings.Replace(inv, "INVITE sip:", "CANCEL sip:", 1)
	cancel = strings.Replace(cancel, "CSeq: 2 INVITE", "CSeq: 2 CANCEL", 1)
	cancel = cancel[:strings.Index(cancel, "Content-Type")] + "Content-Length: 0\r\n\r\n"
	p.Send(cancel)
	if res := p.Response(sip.CANCEL, false); res.StatusCode != 200 {
		t.Fatalf("CANCEL answered %d", res.StatusCode)
	}
	if res := p.Response(sip.INVITE, false); res.StatusCode != 487 {
		t.Fatalf("INVITE answered %d after CANCEL, want 487", res.StatusCode)
	}
	close(release)
	waitFor(t, "no leg", func() bool { return len(f.Legs("")) == 0 && fm.Open() == 0 })
	time.Sleep(100 * time.Millisecond)
	if n := fm.Open(); n != 0 || len(events.Find(focus.EventJoined)) != 0 {
		t.Fatalf("cancelled call left %d legs, %d joins", n, len(events.Find(focus.EventJoined)))
	}
	// A CANCEL matching nothing gets 481.
	c2 := p.Call("r")
	c2.Send("CANCEL", "", "")
	if res := p.Response(sip.CANCEL, false); res.StatusCode != 481 {
		t.Fatalf("stray CANCEL answered %d", res.StatusCode)
	}
}

func TestReinviteHoldResume(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	c := p.Call("hold")
	if res := c.Invite("", offer(40000, "0 101", "a=rtpmap:101 telephone-event/8000")); res.StatusCode != 200 {
		t.Fatalf("INVITE %d", res.StatusCode)
	}
	waitFor(t, "connected", func() bool { l := f.Legs("hold"); return len(l) == 1 && l[0].State == "connected" })
	steps := []struct {
		dir, wantAnswer, wantState string
		held                       bool
	}{
		{"a=sendonly", "recvonly", "on-hold", true},
		{"a=sendrecv", "sendrecv", "connected", false},
		{"a=inactive", "inactive", "on-hold", true},
		{"a=sendrecv", "sendrecv", "connected", false},
	}
	var lastVersion uint64
	for _, st := range steps {
		res := c.Invite("", offer(40010, "0 101", "a=rtpmap:101 telephone-event/8000", st.dir))
		if res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s answered %d", st.dir, res.StatusCode)
		}
		var ans sdp.SessionDescription
		if err := ans.Unmarshal(res.Body()); err != nil {
			t.Fatal(err)
		}
		if _, ok := ans.MediaDescriptions[0].Attribute(st.wantAnswer); !ok {
			t.Errorf("answer to %s lacks a=%s:\n%s", st.dir, st.wantAnswer, res.Body())
		}
		if ans.Origin.SessionVersion <= lastVersion {
			t.Errorf("o= version %d did not grow", ans.Origin.SessionVersion)
		}
		lastVersion = ans.Origin.SessionVersion
		waitFor(t, st.wantState, func() bool { l := f.Legs("hold"); return len(l) == 1 && l[0].State == st.wantState })
		cfg, _, held, _ := fm.Leg(1).State()
		if held != st.held || cfg.Remote.Port() != 40010 {
			t.Errorf("after %s: media held=%v remote=%v", st.dir, held, cfg.Remote)
		}
	}
	if n := len(events.Find(focus.EventHold)); n != 4 {
		t.Errorf("%d hold events, want 4", n)
	}
	// A bad offer in a re-INVITE is refused and changes nothing.
	if res := c.Invite("", offer(40020, "18")); res.StatusCode != 488 {
		t.Errorf("re-INVITE without common codec answered %d", res.StatusCode)
	}
	if cfg, _, _, _ := fm.Leg(1).State(); cfg.Remote.Port() != 40010 {
		t.Errorf("refused re-INVITE moved media to %v", cfg.Remote)
	}
	// UPDATE without body is a refresh; with a body an offer.
	c.Send("UPDATE", "", "")
	if res := p.Response(sip.UPDATE, false); res.StatusCode != 200 {
		t.Errorf("UPDATE answered %d", res.StatusCode)
	}
	c.Send("UPDATE", "", offer(40030, "8", "a=sendonly"))
	if res := p.Response(sip.UPDATE, false); res.StatusCode != 200 || !strings.Contains(string(res.Body()), "recvonly") {
		t.Errorf("UPDATE with offer answered %d\n%s", res.StatusCode, res.Body())
	}
	waitFor(t, "held by UPDATE", func() bool { l := f.Legs("hold"); return len(l) == 1 && l[0].State == "on-hold" })
	c.Bye()
	waitFor(t, "released", func() bool { return fm.Open() == 0 })
}

func TestOfferlessInvite(t *testing.T) {
	f, fm, _ := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	c := p.Call("nooffer")
	c.Send("INVITE", "", "")
	res := p.Response(sip.INVITE, false)
	if res.StatusCode != 200 {
		t.Fatalf("offerless INVITE answered %d", res.StatusCode)
	}
	var off sdp.SessionDescription
	if err := off.Unmarshal(res.Body()); err != nil {
		t.Fatalf("offer in 200: %v", err)
	}
	if got := strings.Join(off.MediaDescriptions[0].MediaName.Formats, " "); !strings.HasPrefix(got, "111 9 0 8") {
		t.Errorf("offer formats %q", got)
	}
	c.ToTag, _ = res.To().Params.Get("tag")
	c.Send("ACK", "", offer(40100, "8"))
	waitFor(t, "connected", func() bool { l := f.Legs("nooffer"); return len(l) == 1 && l[0].State == "connected" })
	cfg, _, _, _ := fm.Leg(1).State()
	if cfg.Codec.Name != "PCMA" || cfg.Remote.Port() != 40100 {
		t.Errorf("media after ACK answer: %+v", cfg)
	}
	c.Bye()

	// An ACK without the answer ends the call.
	c2 := p.Call("nooffer")
	c2.Send("INVITE", "", "")
	res = p.Response(sip.INVITE, false)
	c2.ToTag, _ = res.To().Params.Get("tag")
	c2.Send("ACK", "", "")
	bye := p.Request(sip.BYE)
	p.Reply(bye, 200, "OK", "")
	waitFor(t, "released", func() bool { return fm.Open() == 0 })
}

func TestInfoDTMFSelfMuteAndMessage(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	c := p.Call("dtmf")
	if res := c.Invite("", offer(40000, "0")); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	waitFor(t, "connected", func() bool { l := f.Legs("dtmf"); return len(l) == 1 && l[0].State == "connected" })
	for _, d := range []string{"*", "6"} {
		c.P.Send(c.Request("INFO", "Content-Type: application/dtmf-relay\n", "Signal="+d+"\nDuration=160\n"))
		if res := p.Response(sip.INFO, false); res.StatusCode != 200 {
			t.Fatalf("INFO answered %d", res.StatusCode)
		}
	}
	waitFor(t, "self-muted", func() bool { _, muted, _, _ := fm.Leg(1).State(); return muted })
	if l := f.Legs("dtmf"); !l[0].SelfMuted {
		t.Error("leg not self-muted")
	}
	if ev := events.Find(focus.EventDTMF); len(ev) != 2 || ev[0].Digit != '*' || ev[1].Digit != '6' {
		t.Errorf("DTMF events %+v", ev)
	}
	f.MediaDTMF(1, '*')
	f.MediaDTMF(1, '6')
	waitFor(t, "unmuted", func() bool { _, muted, _, _ := fm.Leg(1).State(); return !muted })

	c.P.Send(c.Request("INFO", "Content-Type: application/weird\n", "x"))
	if res := p.Response(sip.INFO, false); res.StatusCode != 415 {
		t.Errorf("unknown INFO answered %d", res.StatusCode)
	}
	c.P.Send(c.Request("MESSAGE", "Content-Type: text/plain\n", "hello room"))
	if res := p.Response(sip.MESSAGE, false); res.StatusCode != 200 {
		t.Fatalf("MESSAGE answered %d", res.StatusCode)
	}
	out := p.Call("dtmf")
	out.P.Send(out.Request("MESSAGE", "Content-Type: text/plain\n", "from outside"))
	if res := p.Response(sip.MESSAGE, false); res.StatusCode != 200 {
		t.Fatalf("out-of-dialog MESSAGE answered %d", res.StatusCode)
	}
	waitFor(t, "messages", func() bool { return len(events.Find(focus.EventMessage)) == 2 })
	msgs := events.Find(focus.EventMessage)
	if string(msgs[0].Text) != "hello room" || msgs[0].CallID != c.CallID || string(msgs[1].Text) != "from outside" || msgs[1].Room != "dtmf" {
		t.Errorf("messages %+v", msgs)
	}
	c.Bye()
}

func TestKickAndShutdown(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	a, b := p.Call("k"), p.Call("k")
	a.Invite("", offer(40000, "0"))
	b.Invite("", offer(40002, "0"))
	waitFor(t, "two connected", func() bool {
		l := f.Legs("k")
		return len(l) == 2 && l[0].State == "connected" && l[1].State == "connected"
	})
	go func() {
		bye := p.Request(sip.BYE)
		if bye.GetHeader("Reason") == nil {
			t.Errorf("kick BYE without Reason")
		}
		p.Reply(bye, 200, "OK", "")
	}()
	if err := f.Kick(context.Background(), a.CallID, "kicked by moderator"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one left", func() bool {
		return len(f.Legs("k")) == 1 && fm.Open() == 1 && len(events.Find(focus.EventLeft)) == 1
	})
	if ev := events.Find(focus.EventLeft); len(ev) != 1 || ev[0].Reason != "booted" {
		t.Errorf("left %+v", ev)
	}
	go func() {
		bye := p.Request(sip.BYE)
		p.Reply(bye, 200, "OK", "")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := f.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if fm.Open() != 0 || len(f.Legs("")) != 0 || f.Ready() {
		t.Fatalf("after Shutdown: %d media legs, %d legs, ready=%v", fm.Open(), len(f.Legs("")), f.Ready())
	}
	c := p.Call("k")
	if res := c.Invite("", offer(40004, "0")); res.StatusCode != 503 {
		t.Errorf("INVITE after Shutdown answered %d", res.StatusCode)
	}
}

func TestLimits(t *testing.T) {
	f, fm, _ := startFocus(t, focus.Config{MaxCallsPerRoom: 1, MaxCalls: 2, InviteRate: 1, InviteBurst: 4})
	p := newRawPhone(t, f)
	a := p.Call("one")
	if res := a.Invite("", offer(40000, "0")); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	if res := p.Call("one").Invite("", offer(40002, "0")); res.StatusCode != 486 {
		t.Errorf("second call in a room of 1 answered %d, want 486", res.StatusCode)
	}
	if res := p.Call("two").Invite("", offer(40004, "0")); res.StatusCode != 200 {
		t.Errorf("call in another room answered %d", res.StatusCode)
	}
	res := p.Call("three").Invite("", offer(40006, "0"))
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Errorf("call over the node limit answered %d", res.StatusCode)
	}
	// The fifth INVITE within a second exceeds the burst of 4.
	res = p.Call("four").Invite("", offer(40008, "0"))
	if res.StatusCode != 503 || !strings.Contains(res.Reason, "Too Many") {
		t.Errorf("INVITE over the rate answered %d %s", res.StatusCode, res.Reason)
	}
	if fm.Open() != 2 {
		t.Errorf("%d media legs, want 2", fm.Open())
	}
}

func TestCallerFacts(t *testing.T) {
	facts := make(chan focus.CallFacts, 1)
	f, _, _ := startFocus(t, focus.Config{Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
		facts <- c
		return focus.Admission{Muted: true, DisplayName: "Alice (phone)"}
	}})
	p := newRawPhone(t, f)
	c := p.Call("facts+tok3n")
	res := c.Invite("Call-Info: <xmpp:alice@example.test>;purpose=impp, <http://example.test/a.png>;purpose=icon\nP-Asserted-Identity: \"Alice\" <sip:alice@example.test>\n", offer(40000, "0"))
	if res.StatusCode != 200 {
		t.Fatalf("answered %d", res.StatusCode)
	}
	got := <-facts
	if got.Room != "facts" || got.Token != "tok3n" || got.DisplayName != "Alice" || got.AssertedIdentity != "sip:alice@example.test" ||
		len(got.IMPP) != 1 || got.IMPP[0] != "xmpp:alice@example.test" || got.CallID != c.CallID || !got.Source.IsValid() {
		t.Errorf("facts %+v", got)
	}
	waitFor(t, "muted leg", func() bool { l := f.Legs("facts"); return len(l) == 1 && l[0].Muted })
	c.Bye()
}

func TestMixerEventsReachLegs(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	c := p.Call("rtpdtmf")
	c.Invite("", offer(40000, "0 101", "a=rtpmap:101 telephone-event/8000"))
	waitFor(t, "connected", func() bool { l := f.Legs("rtpdtmf"); return len(l) == 1 && l[0].State == "connected" })
	route := f.MixerEvents()
	id := f.Legs("rtpdtmf")[0].MediaID
	route(mixer.Event{Kind: mixer.EventDTMF, LegID: id, Digit: '*'})
	route(mixer.Event{Kind: mixer.EventDTMF, LegID: id, Digit: '6'})
	waitFor(t, "self-muted by RFC 4733 digits", func() bool { _, muted, _, _ := fm.Leg(id).State(); return muted })
	if ev := events.Find(focus.EventMute); len(ev) != 1 || !ev[0].SelfMuted || !ev[0].Muted {
		t.Errorf("mute events %+v", ev)
	}
	route(mixer.Event{Kind: mixer.EventRTPTimeout, LegID: id})
	bye := p.Request(sip.BYE)
	p.Reply(bye, 200, "OK", "")
	waitFor(t, "hung up on RTP timeout", func() bool { return fm.Open() == 0 })
	if ev := events.Find(focus.EventLeft); len(ev) != 1 || ev[0].Reason != "failed" {
		t.Errorf("left %+v", ev)
	}
}

func TestReferByeRemovesParticipant(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	c := p.Call("rb")
	c.Invite("", offer(40000, "0"))
	waitFor(t, "connected", func() bool { l := f.Legs("rb"); return len(l) == 1 && l[0].State == "connected" })
	mod := newRawPhone(t, f)
	r := mod.Call("rb")
	r.Send("REFER", "Refer-To: <sip:alice@127.0.0.1;method=BYE>\n", "")
	if res := mod.Response(sip.REFER, false); res.StatusCode != 202 {
		t.Fatalf("REFER answered %d", res.StatusCode)
	}
	bye := p.Request(sip.BYE)
	p.Reply(bye, 200, "OK", "")
	n := mod.Request(sip.NOTIFY)
	mod.Reply(n, 200, "OK", "")
	waitFor(t, "removed", func() bool { return fm.Open() == 0 && len(events.Find(focus.EventLeft)) == 1 })
	if ev := events.Find(focus.EventLeft); ev[0].Reason != "booted" {
		t.Errorf("left %+v", ev)
	}
}

// TestBehindNATFlag: a call whose SDP names the host its INVITE came from
// may share an RTP port; one whose SDP names another host (a phone behind
// a NAT announcing its private address) is marked BehindNAT, so the mixer
// gives it a port of its own where it can latch to the real source.
func TestBehindNATFlag(t *testing.T) {
	f, fm, _ := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	natOffer := strings.Replace(offer(40200, "0"), "c=IN IP4 127.0.0.1", "c=IN IP4 192.168.1.20", 1)
	for i, c := range []struct {
		name string
		sdp  string
		nat  bool
	}{
		{"SDP names the signalling host", offer(40100, "0"), false},
		{"SDP names a private address", natOffer, true},
	} {
		call := p.Call("nat")
		if res := call.Invite("", c.sdp); res.StatusCode != 200 {
			t.Fatalf("%s: INVITE answered %d", c.name, res.StatusCode)
		}
		cfg, _, _, _ := fm.Leg(uint64(i + 1)).State()
		if cfg.BehindNAT != c.nat {
			t.Errorf("%s: BehindNAT = %v, want %v (remote %v)", c.name, cfg.BehindNAT, c.nat, cfg.Remote)
		}
		call.Bye()
	}
}
