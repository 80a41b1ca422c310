package focus_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	confinfo "cusax.dev/bridge/conference-info"
	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
)

func lastState(ns []focustest.Notify) string {
	if len(ns) == 0 {
		return ""
	}
	return ns[len(ns)-1].State
}

// TestSubscribeMinExpires: Expires under the minimum gets 423 with the
// minimum in Min-Expires (RFC 6665 4.2.1.1), for the default and a
// configured minimum; the minimum itself is granted.
func TestSubscribeMinExpires(t *testing.T) {
	cases := []struct {
		name      string
		min       time.Duration
		expires   int
		want      int
		minHeader string
	}{
		{"default minimum refuses 59 s", 0, 59, 423, "60"},
		{"default minimum grants 60 s", 0, 60, 200, ""},
		{"configured 2 s refuses 1 s", 2 * time.Second, 1, 423, "2"},
		{"configured 2 s grants 2 s", 2 * time.Second, 2, 200, ""},
		{"fractional minimum rounds up", 1500 * time.Millisecond, 1, 423, "2"},
		{"huge Expires is capped", 0, 1 << 40, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := runFocus(t, focus.Config{Domain: "example.test", SubscribeMinExpires: tc.min})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			w := focustest.NewWatcher(t, f.Addr(), "brief")
			res, err := w.SubscribeResponse(ctx, tc.expires)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.want {
				t.Fatalf("SUBSCRIBE Expires %d answered %d, want %d", tc.expires, res.StatusCode, tc.want)
			}
			if tc.want == 423 {
				h := res.GetHeader("Min-Expires")
				if h == nil || h.Value() != tc.minHeader {
					t.Errorf("Min-Expires %v, want %s", h, tc.minHeader)
				}
				if f.Subscriptions() != 0 {
					t.Errorf("a refused SUBSCRIBE left %d subscriptions", f.Subscriptions())
				}
				return
			}
			h := res.GetHeader("Expires")
			if h == nil {
				t.Fatal("200 without Expires")
			}
			if tc.expires > 3600 && h.Value() != "3600" {
				t.Errorf("granted Expires %s, want the 3600 s maximum", h.Value())
			}
			if tc.expires <= 3600 && h.Value() != fmt.Sprint(tc.expires) {
				t.Errorf("granted Expires %s, want %d", h.Value(), tc.expires)
			}
		})
	}
}

// TestSubscriptionExpiry: a subscription not refreshed ends with a final
// NOTIFY terminated;reason=timeout (RFC 6665 4.1.2.2/4.2.2) and is
// forgotten, while a refreshed one lives on.
func TestSubscriptionExpiry(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := runFocus(t, focus.Config{Domain: "example.test", SubscribeMinExpires: 2 * time.Second, Metrics: reg})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	const active = "bridge_focus_subscriptions_active"

	lapsing := focustest.NewWatcher(t, f.Addr(), "expiry")
	if code, err := lapsing.Subscribe(ctx, 2); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE: %d %v", code, err)
	}
	kept := focustest.NewWatcher(t, f.Addr(), "expiry")
	if code, err := kept.Subscribe(ctx, 4); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE: %d %v", code, err)
	}
	for _, w := range []*focustest.Watcher{lapsing, kept} {
		w.WaitFor("the full document", func(doc *confinfo.Info, _ []focustest.Notify) bool { return doc != nil })
	}
	if got := gauge(t, reg, active); got != 2 {
		t.Fatalf("%s = %v with two watchers", active, got)
	}

	// kept refreshes every second (well inside its 4 s) until lapsing ends.
	start := time.Now()
	for !strings.HasPrefix(lastState(lapsing.Notifies()), "terminated") {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("no final NOTIFY 20 s after a 2 s subscription; last state %q", lastState(lapsing.Notifies()))
		}
		time.Sleep(time.Second)
		if code, err := kept.Subscribe(ctx, 4); err != nil || code != 200 {
			t.Fatalf("refresh: %d %v", code, err)
		}
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("subscription ended after %v, before its 2 s", elapsed)
	}
	if got := lastState(lapsing.Notifies()); got != "terminated;reason=timeout" {
		t.Errorf("final Subscription-State %q, want terminated;reason=timeout", got)
	}
	final := lapsing.Notifies()[len(lapsing.Notifies())-1]
	if final.Doc == nil || final.Doc.State == confinfo.StatePartial {
		t.Errorf("final NOTIFY should carry the full state, got %s", final.Body)
	}
	focustest.WaitFor(t, "one subscription left", func() bool {
		return f.Subscriptions() == 1 && gauge(t, reg, active) == 1
	})
	for _, n := range kept.Notifies() {
		if !strings.HasPrefix(n.State, "active") {
			t.Errorf("refreshed watcher got Subscription-State %q", n.State)
		}
	}
	// The expired subscription is gone: its refresh finds nothing.
	if code, err := lapsing.Subscribe(ctx, 2); err != nil || code != 481 {
		t.Errorf("refresh of an expired subscription: %d %v, want 481", code, err)
	}

	// Left alone, kept lapses too and the gauge is back to 0.
	kept.WaitFor("kept's final NOTIFY", func(_ *confinfo.Info, ns []focustest.Notify) bool {
		return lastState(ns) == "terminated;reason=timeout"
	})
	focustest.WaitFor(t, "no subscription", func() bool {
		return f.Subscriptions() == 0 && gauge(t, reg, active) == 0
	})
}

// TestWatcherFallingBehindGetsFullDocument: a watcher that stops answering
// while more than 64 changes happen is sent the whole state again instead
// of every partial, and its copy still ends equal to the focus's state.
func TestWatcherFallingBehindGetsFullDocument(t *testing.T) {
	f := runFocus(t, focus.Config{Domain: "example.test"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const room = "laggy"
	w := focustest.NewWatcher(t, f.Addr(), room)
	if code, err := w.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE: %d %v", code, err)
	}
	w.WaitFor("the full document", func(doc *confinfo.Info, _ []focustest.Notify) bool { return doc != nil })

	// The first change's NOTIFY is left unanswered: the sender waits on it
	// while 100 more changes queue up behind.
	w.Stall(true)
	carol := func(i int) []focus.ChatUser {
		return []focus.ChatUser{{Entity: "xmpp:carol@example.test", DisplayText: fmt.Sprintf("Carol %d", i)}}
	}
	f.SetChatUsers(room, carol(0))
	focustest.WaitFor(t, "the stalled NOTIFY", func() bool { return w.Stalled() > 0 })
	const changes = 100
	for i := 1; i <= changes; i++ {
		f.SetChatUsers(room, carol(i))
	}
	w.Stall(false)

	want := fmt.Sprintf("Carol %d", changes)
	w.WaitFor("the last change", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		for _, u := range doc.Users.User {
			if u.Entity == "xmpp:carol@example.test" && u.DisplayText == want {
				return true
			}
		}
		return false
	})
	ns := w.Notifies()
	t.Logf("%d NOTIFYs for %d changes, last version %d", len(ns), changes+1, ns[len(ns)-1].Doc.Version)
	if len(ns) > 1+1+64 {
		t.Errorf("watcher got %d NOTIFYs for %d changes: the queue was not cut short", len(ns), changes+1)
	}
	fulls := 0
	for i, n := range ns {
		if n.Doc == nil {
			t.Fatalf("NOTIFY %d did not decode: %s", i, n.Body)
		}
		if i > 0 && n.Doc.Version <= ns[i-1].Doc.Version {
			t.Errorf("NOTIFY %d has version %d after %d", i, n.Doc.Version, ns[i-1].Doc.Version)
		}
		if i > 0 && n.Doc.State != confinfo.StatePartial {
			fulls++
		}
	}
	if fulls == 0 {
		t.Errorf("no full document after the watcher fell behind (%d NOTIFYs)", len(ns))
	}
	// The copy built from what arrived is the focus's state.
	fetch := focustest.NewWatcher(t, f.Addr(), room)
	if code, err := fetch.Subscribe(ctx, 0); err != nil || code != 200 {
		t.Fatalf("fetch: %d %v", code, err)
	}
	fetch.WaitFor("fetched state", func(doc *confinfo.Info, _ []focustest.Notify) bool { return doc != nil })
	if a, b := encoded(t, mustLocal(t, w)), encoded(t, mustLocal(t, fetch)); a != b {
		t.Errorf("lagging watcher's copy:\n%s\nfocus state:\n%s", a, b)
	}
	// Later changes flow as partials again.
	f.SetChatUsers(room, nil)
	w.WaitFor("carol gone", func(doc *confinfo.Info, ns []focustest.Notify) bool {
		return len(doc.Users.User) == 0 && ns[len(ns)-1].Doc.State == confinfo.StatePartial
	})
}
