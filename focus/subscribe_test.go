package focus_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	confinfo "cusax.dev/bridge/conference-info"
	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
)

// runFocus starts a focus with a media engine that hands out fake ports.
func runFocus(t *testing.T, cfg focus.Config) *focus.Focus {
	t.Helper()
	if cfg.Media == nil {
		cfg.Media = focustest.NewFakeMedia()
	}
	cfg.Listen = "127.0.0.1:0"
	if os.Getenv("FOCUS_DEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	return serveFocus(t, cfg)
}

// stripVersion lets a watcher's copy be compared with a fresh full
// document, whose version numbers its own subscription.
func stripVersion(d *confinfo.Info) *confinfo.Info {
	d = d.Clone()
	d.Version = 0
	d.State = ""
	return d
}

// encoded is a document without its version, as XML text.
func encoded(t *testing.T, d *confinfo.Info) string {
	t.Helper()
	b, err := confinfo.Encode(stripVersion(d))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConferenceSubscription(t *testing.T) {
	f := runFocus(t, focus.Config{Domain: "example.test", ChatDomain: "muc.example.test"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	w := focustest.NewWatcher(t, f.Addr(), "standup")
	if code, err := w.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE: %d %v", code, err)
	}
	w.WaitFor("the full document", func(doc *confinfo.Info, n []focustest.Notify) bool { return doc != nil })
	first := w.Notifies()[0]
	if first.Doc.State != confinfo.StateFull && first.Doc.State != "" || first.Doc.Version != 1 {
		t.Errorf("first NOTIFY state %q version %d, want full version 1", first.Doc.State, first.Doc.Version)
	}
	if !strings.HasPrefix(first.State, "active") {
		t.Errorf("Subscription-State %q", first.State)
	}
	if got := focustest.ChatURI(first.Doc); got != "xmpp:standup@muc.example.test?join" {
		t.Errorf("grouptextchat URI %q", got)
	}
	if first.Doc.Entity != "sip:standup@example.test" {
		t.Errorf("entity %q", first.Doc.Entity)
	}

	phone := focustest.NewRawPhone(t, f.Addr())
	call := phone.Call("standup")
	if res := call.Invite("", focustest.Offer(40000, "0")); res.StatusCode != 200 {
		t.Fatalf("INVITE %d", res.StatusCode)
	}
	status := func(want confinfo.EndpointStatus) func(*confinfo.Info, []focustest.Notify) bool {
		return func(doc *confinfo.Info, _ []focustest.Notify) bool {
			_, ep, ok := focustest.Endpoint(doc, call.CallID)
			return ok && ep.Status == want
		}
	}
	w.WaitFor("connected", status(confinfo.StatusConnected))
	if res := call.Invite("", focustest.Offer(40000, "0", "a=sendonly")); res.StatusCode != 200 {
		t.Fatalf("hold re-INVITE %d", res.StatusCode)
	}
	w.WaitFor("on-hold", status(confinfo.StatusOnHold))
	if res := call.Invite("", focustest.Offer(40000, "0", "a=sendrecv")); res.StatusCode != 200 {
		t.Fatalf("resume re-INVITE %d", res.StatusCode)
	}
	w.WaitFor("connected again", status(confinfo.StatusConnected))
	if err := f.SetMuted(call.CallID, true); err != nil {
		t.Fatal(err)
	}
	w.WaitFor("muted-via-focus", status(confinfo.StatusMutedViaFocus))
	_, ep, _ := focustest.Endpoint(mustLocal(t, w), call.CallID)
	if len(ep.Media) != 1 || ep.Media[0].Status != confinfo.MediaRecvOnly {
		t.Errorf("muted media %+v, want recvonly", ep.Media)
	}
	f.SetChatUsers("standup", []focus.ChatUser{{Entity: "xmpp:carol@example.test", DisplayText: "Carol"}})
	w.WaitFor("chat user", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		for _, u := range doc.Users.User {
			if u.Entity == "xmpp:carol@example.test" && len(u.Endpoints) == 0 {
				return true
			}
		}
		return false
	})
	if res := call.Bye(); res.StatusCode != 200 {
		t.Fatalf("BYE %d", res.StatusCode)
	}
	w.WaitFor("departed then gone", func(doc *confinfo.Info, ns []focustest.Notify) bool {
		_, _, present := focustest.Endpoint(doc, call.CallID)
		return !present
	})
	sawDeparted := false
	for _, n := range w.Notifies() {
		if n.Doc != nil && strings.Contains(string(n.Body), "<disconnection-method>departed</disconnection-method>") {
			sawDeparted = true
		}
	}
	if !sawDeparted {
		t.Error("no NOTIFY showed the leg departed")
	}

	// Versions grow by one, all partial after the first.
	ns := w.Notifies()
	for i, n := range ns {
		if n.Doc.Version != uint32(i+1) {
			t.Errorf("NOTIFY %d has version %d", i, n.Doc.Version)
		}
		if i > 0 && n.Doc.State != confinfo.StatePartial {
			t.Errorf("NOTIFY %d is %q, want partial", i, n.Doc.State)
		}
	}
	// Applying the partials gave the same state a new watcher gets in full.
	w2 := focustest.NewWatcher(t, f.Addr(), "standup")
	if code, err := w2.Subscribe(ctx, 0); err != nil || code != 200 {
		t.Fatalf("fetch SUBSCRIBE: %d %v", code, err)
	}
	w2.WaitFor("fetched state", func(doc *confinfo.Info, n []focustest.Notify) bool {
		return len(n) == 1 && strings.HasPrefix(n[0].State, "terminated")
	})
	if ea, eb := encoded(t, mustLocal(t, w)), encoded(t, mustLocal(t, w2)); ea != eb {
		t.Errorf("partials applied:\n%s\nfull:\n%s", ea, eb)
	}

	// Unsubscribe: a final NOTIFY, terminated.
	if code, err := w.Subscribe(ctx, 0); err != nil || code != 200 {
		t.Fatalf("unSUBSCRIBE: %d %v", code, err)
	}
	w.WaitFor("terminated", func(_ *confinfo.Info, ns []focustest.Notify) bool {
		return strings.HasPrefix(ns[len(ns)-1].State, "terminated")
	})
}

func mustLocal(t *testing.T, w *focustest.Watcher) *confinfo.Info {
	t.Helper()
	d, err := w.Local()
	if err != nil || d == nil {
		t.Fatalf("watcher copy: %v", err)
	}
	return d
}

func TestSubscriptionEndsOn481(t *testing.T) {
	f := runFocus(t, focus.Config{Domain: "example.test"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := focustest.NewWatcher(t, f.Addr(), "gone")
	if code, err := w.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE: %d %v", code, err)
	}
	w.WaitFor("full", func(doc *confinfo.Info, _ []focustest.Notify) bool { return doc != nil })
	w.Refuse(481)
	phone := focustest.NewRawPhone(t, f.Addr())
	call := phone.Call("gone")
	call.Invite("", focustest.Offer(40000, "0"))
	deadline := time.Now().Add(15 * time.Second)
	for f.Subscriptions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("subscription survived a 481")
		}
		time.Sleep(20 * time.Millisecond)
	}
	call.Bye()
}

func TestSubscribeErrors(t *testing.T) {
	f := runFocus(t, focus.Config{Domain: "example.test", RequireExistingRooms: true})
	conn, err := net.Dial("udp", f.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cases := []struct {
		name, room, headers string
		want                string
	}{
		{"unknown room", "nobody", "Event: conference\r\n", "SIP/2.0 404"},
		{"bad event", "nobody", "Event: presence\r\n", "SIP/2.0 489"},
		{"no event", "nobody", "", "SIP/2.0 489"},
		{"bad accept", "nobody", "Event: conference\r\nAccept: text/html\r\n", "SIP/2.0 406"},
		{"too brief", "nobody", "Event: conference\r\nExpires: 5\r\n", "SIP/2.0 423"},
	}
	buf := make([]byte, 4096)
	for i, tc := range cases {
		msg := "SUBSCRIBE sip:" + tc.room + "@" + f.Addr().String() + " SIP/2.0\r\nVia: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bKs" + tc.name[:3] + string(rune('a'+i)) + "\r\nMax-Forwards: 70\r\nFrom: <sip:w@127.0.0.1>;tag=x" + string(rune('a'+i)) + "\r\nTo: <sip:" + tc.room + "@example.test>\r\nCall-ID: sub" + string(rune('a'+i)) + "\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:w@" + conn.LocalAddr().String() + ">\r\n" + tc.headers + "Content-Length: 0\r\n\r\n"
		conn.Write([]byte(msg))
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.HasPrefix(string(buf[:n]), tc.want) {
			t.Errorf("%s: got %q, want %s", tc.name, strings.SplitN(string(buf[:n]), "\r\n", 2)[0], tc.want)
		}
	}
}

// TestSubscribeInCallDialog: a phone subscribes inside its call's dialog
// (RFC 6665 4.5.2) and gets NOTIFYs on that dialog.
func TestSubscribeInCallDialog(t *testing.T) {
	f, _, _ := startFocus(t, focus.Config{Domain: "example.test"})
	p := newRawPhone(t, f)
	c := p.Call("incall")
	if res := c.Invite("", offer(40000, "0")); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	waitFor(t, "connected", func() bool { l := f.Legs("incall"); return len(l) == 1 && l[0].State == "connected" })
	c.Send("SUBSCRIBE", "Event: conference\nExpires: 600\n", "")
	var notify *sip.Request
	for notify == nil {
		select {
		case m := <-p.Inbox:
			switch m := m.(type) {
			case *sip.Response:
				if m.CSeq().MethodName == sip.SUBSCRIBE && m.StatusCode != 200 {
					t.Fatalf("in-dialog SUBSCRIBE answered %d", m.StatusCode)
				}
			case *sip.Request:
				if m.Method == sip.NOTIFY {
					notify = m
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no NOTIFY")
		}
	}
	if notify.CallID().Value() != c.CallID {
		t.Errorf("NOTIFY on Call-ID %s, want the call's %s", notify.CallID().Value(), c.CallID)
	}
	if tag, _ := notify.To().Params.Get("tag"); tag != c.FromTag {
		t.Errorf("NOTIFY To tag %q, want the call's %q", tag, c.FromTag)
	}
	doc, err := confinfo.Decode(notify.Body())
	if err != nil {
		t.Fatal(err)
	}
	if _, ep, ok := focustest.Endpoint(doc, c.CallID); !ok || ep.Status != confinfo.StatusConnected {
		t.Errorf("own endpoint %+v in %s", ep, notify.Body())
	}
	p.Reply(notify, 200, "OK", "")
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f, _, _ := startFocus(t, focus.Config{Metrics: reg, Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
		if c.Room == "no" {
			return focus.Admission{Verdict: focus.Forbidden}
		}
		return focus.Admission{}
	}})
	p := newRawPhone(t, f)
	c := p.Call("yes")
	c.Invite("", offer(40000, "0"))
	p.Call("no").Invite("", offer(40002, "0"))
	waitFor(t, "connected", func() bool { l := f.Legs("yes"); return len(l) == 1 && l[0].State == "connected" })
	got := map[string]float64{}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetValue() + "}"
			}
			if m.GetCounter() != nil {
				got[name] = m.GetCounter().GetValue()
			} else if m.GetGauge() != nil {
				got[name] = m.GetGauge().GetValue()
			}
		}
	}
	for name, want := range map[string]float64{
		"bridge_focus_calls_total{answered}": 1,
		"bridge_focus_calls_total{403}":      1,
		"bridge_focus_dialogs_active":        1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
	c.Bye()
}
