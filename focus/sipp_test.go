package focus_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	confinfo "cusax.dev/bridge/conference-info"
	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
)

func readScenario(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/sipp/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSIPpHoldAndIndependentWatcher: SIPp joins, holds, resumes and hangs
// up, asserting each answer; a second SIPp watches the room's conference
// state; the NOTIFY bodies it logged are folded together and must give the
// focus's full state, with on-hold and the grouptextchat URI along the way.
func TestSIPpHoldAndIndependentWatcher(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "sipp")
	f := runFocus(t, focus.Config{Domain: "example.test", ChatDomain: "muc.example.test"})
	target := f.Addr().String()

	// A Go watcher too, to see on-hold while the call is held.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gw := focustest.NewWatcher(t, f.Addr(), "sippy")
	if code, err := gw.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE %d %v", code, err)
	}

	watcherDone := make(chan focustest.SIPpResult, 1)
	go func() {
		watcherDone <- focustest.RunSIPp(t, readScenario(t, "watcher.xml"), target, 50*time.Second, "-s", "sippy", "-m", "1")
	}()
	waitFor(t, "the SIPp subscription", func() bool { return f.Subscriptions() == 2 })

	phoneDone := make(chan focustest.SIPpResult, 1)
	go func() {
		phoneDone <- focustest.RunSIPp(t, readScenario(t, "hold.xml"), target, 40*time.Second, "-s", "sippy", "-m", "1")
	}()
	gw.WaitFor("on-hold", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		if doc == nil || doc.Users == nil {
			return false
		}
		for _, u := range doc.Users.User {
			for _, e := range u.Endpoints {
				if e.Status == confinfo.StatusOnHold && len(e.Media) == 1 && e.Media[0].Status == confinfo.MediaInactive {
					return true
				}
			}
		}
		return false
	})
	phone := <-phoneDone
	if phone.ExitCode != 0 {
		t.Fatalf("SIPp phone scenario failed: %s", phone)
	}
	waitFor(t, "call gone", func() bool { return len(f.Legs("sippy")) == 0 })
	if err := f.CloseRoom(ctx, "sippy", "test over"); err != nil {
		t.Fatal(err)
	}
	watcher := <-watcherDone
	if watcher.ExitCode != 0 {
		t.Fatalf("SIPp watcher failed: %s", watcher)
	}

	bodies := watcher.Bodies("NOTIFY ")
	if len(bodies) < 5 {
		t.Fatalf("SIPp watcher logged %d NOTIFY bodies, want the full one, partials and the final one", len(bodies))
	}
	var (
		local    *confinfo.Info
		statuses = map[confinfo.EndpointStatus]bool{}
		methods  = map[confinfo.DisconnectionMethod]bool{}
	)
	for i, b := range bodies[:len(bodies)-1] {
		doc, err := confinfo.Decode([]byte(b))
		if err != nil {
			t.Fatalf("NOTIFY %d does not decode: %v\n%s", i, err, b)
		}
		if doc.Version != uint32(i+1) {
			t.Errorf("NOTIFY %d has version %d", i, doc.Version)
		}
		if i == 0 && doc.State == confinfo.StatePartial || i > 0 && doc.State != confinfo.StatePartial {
			t.Errorf("NOTIFY %d state %q", i, doc.State)
		}
		if local, err = confinfo.Apply(local, doc); err != nil {
			t.Fatalf("applying NOTIFY %d: %v", i, err)
		}
		if i == 0 && focustest.ChatURI(local) != "xmpp:sippy@muc.example.test?join" {
			t.Errorf("grouptextchat %q", focustest.ChatURI(local))
		}
		if local.Users != nil {
			for _, u := range local.Users.User {
				for _, e := range u.Endpoints {
					statuses[e.Status] = true
					methods[e.DisconnectionMethod] = true
				}
			}
		}
	}
	for _, s := range []confinfo.EndpointStatus{confinfo.StatusConnected, confinfo.StatusOnHold, confinfo.StatusDisconnected} {
		if !statuses[s] {
			t.Errorf("no NOTIFY showed an endpoint %s (saw %v)", s, statuses)
		}
	}
	if !methods[confinfo.DisconnectDeparted] {
		t.Errorf("no disconnection-method departed (saw %v)", methods)
	}
	final, err := confinfo.Decode([]byte(bodies[len(bodies)-1]))
	if err != nil {
		t.Fatal(err)
	}
	if ea, eb := encoded(t, local), encoded(t, final); ea != eb {
		t.Errorf("partials applied:\n%s\nfocus's full state:\n%s", ea, eb)
	}
	if !strings.Contains(watcher.Messages, "terminated;reason=noresource") {
		t.Error("the final NOTIFY did not say terminated;reason=noresource")
	}
}

// TestSIPpDTMF: SIPp joins a room on the real mixer and plays the digit 1
// as RFC 4733 telephone-events; the focus reports it as EventDTMF.
func TestSIPpDTMF(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "sipp")
	pcap := focustest.SIPpPcap(t, "dtmf_2833_1.pcap")
	events := &focustest.EventLog{}
	f, reg := realFocusWith(t, focus.Config{Domain: "127.0.0.1", OnEvent: events.Add, SelfMute: "-"})
	scenario := strings.ReplaceAll(readScenario(t, "dtmf.xml"), "PCAP_DTMF_1", pcap)
	mp := testpeer.FreeUDPPort(t)
	res := focustest.RunSIPp(t, scenario, f.Addr().String(), 30*time.Second, "-s", "tones", "-m", "1", "-mp", fmt.Sprint(mp))
	if res.ExitCode != 0 {
		t.Fatalf("SIPp DTMF scenario failed: %s", res)
	}
	waitFor(t, "the digit", func() bool { return len(events.Find(focus.EventDTMF)) > 0 })
	digits := events.Find(focus.EventDTMF)
	joined := events.Find(focus.EventJoined)
	if len(joined) != 1 {
		t.Fatalf("joined events %+v", joined)
	}
	if len(digits) != 1 || digits[0].Digit != '1' || digits[0].CallID != joined[0].CallID || digits[0].Room != "tones" {
		t.Errorf("DTMF events %+v, want one '1' from call %s in room tones", digits, joined[0].CallID)
	}
	released(t, reg)
}
