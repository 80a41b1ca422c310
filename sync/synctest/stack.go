// Package synctest builds the whole bridge in-process for end-to-end tests
// of package sync (and later cmd/bridge and bench): a real Prosody, the muc
// component attached to it, the mixer, the SIP focus and sync wired
// together exactly as cmd/bridge wires them. Phones (baresip, SIPp) and chat
// clients (slixmpp) come from focus/focustest and muc/muctest.
package synctest

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/internal/browserwire"
	"cusax.dev/bridge/mixer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	bsync "cusax.dev/bridge/sync"
	"cusax.dev/bridge/web/join"
)

// Stack is one bridge node on loopback with its own Prosody.
type Stack struct {
	Prosody  *muctest.Prosody
	MUC      *muc.Service
	Focus    *focus.Focus
	Mixer    *mixer.Mixer
	Sync     *bsync.Sync
	Registry *prometheus.Registry
	// Web is browser join, with Options.BrowserJoin.
	Web *join.Server
	// Component is the MUC domain, e.g. conference.example.test.
	Component string
}

// Options change the stack.
type Options struct {
	// Sync is applied to sync's Config before New (directory rules, vCards…).
	Sync func(*bsync.Config)
	// PortMin is the first RTP port of the mixer's range of 400; 0 = 46000.
	PortMin int
	// BrowserJoin runs web/join on 127.0.0.1 (Stack.Web), wired to sync as
	// cmd/bridge wires it.
	BrowserJoin bool
	// Focus is applied to the focus's Config before New (a TLS listener,
	// an encryption policy…).
	Focus func(*focus.Config)
}

// Start builds and runs a stack; t.Cleanup stops it all.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	st := &Stack{Registry: prometheus.NewRegistry()}
	st.Prosody = muctest.NewProsody(t, muctest.ProsodyConfig{})
	st.Component = st.Prosody.Components[0]

	// The hooks are closures because the faces and sync refer to each other;
	// cmd/bridge does the same.
	var s atomic.Pointer[bsync.Sync]
	var f atomic.Pointer[focus.Focus]
	events := make(chan mixer.Event, 1024)
	webEvents := make(chan uint64, 64)
	pmin := o.PortMin
	if pmin == 0 {
		pmin = 46000
	}
	m, err := mixer.New(mixer.Config{BindAddr: netip.MustParseAddr("127.0.0.1"), PortMin: pmin, PortMax: pmin + 399,
		OnEvent: func(ev mixer.Event) {
			select {
			case events <- ev:
			default:
			}
		}, Metrics: st.Registry, Prompts: builtinPrompts(t)})
	if err != nil {
		t.Fatal(err)
	}
	st.Mixer = m
	t.Cleanup(func() { m.Close() })

	fcfg := focus.Config{
		Listen: "127.0.0.1:0", Domain: "127.0.0.1", Media: focus.NewMixerMedia(m), ChatDomain: st.Component,
		Admit: func(ctx context.Context, c focus.CallFacts) focus.Admission {
			if sy := s.Load(); sy != nil {
				return sy.Admit(ctx, c)
			}
			return focus.Admission{Verdict: focus.NodeFull}
		},
		OnEvent: func(ev focus.Event) {
			if sy := s.Load(); sy != nil {
				sy.OnFocusEvent(ev)
			}
		},
		Metrics: st.Registry,
	}
	if o.Focus != nil {
		o.Focus(&fcfg)
	}
	fc, err := focus.New(fcfg)
	if err != nil {
		t.Fatal(err)
	}
	st.Focus = fc
	f.Store(fc)
	ctx, cancel := context.WithCancel(context.Background())
	fdone := make(chan error, 1)
	go func() { fdone <- fc.Serve(ctx) }()
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		_ = fc.Shutdown(sctx)
		c()
		cancel()
		<-fdone
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := fc.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	// Mixer events: digits and RTP timeouts to the focus, talking to sync.
	route := fc.MixerEvents()
	go func() {
		for {
			select {
			case ev := <-events:
				route(ev)
				if ev.Kind == mixer.EventRTPTimeout && o.BrowserJoin {
					webEvents <- ev.LegID
				}
				if ev.Kind == mixer.EventTalking {
					if sy := s.Load(); sy != nil {
						sy.Talking(ev.LegID, ev.Talking)
					}
				}
			case <-ctx.Done():
				return
			}
		}
	}()

	st.MUC, _ = muctest.StartService(t, st.Prosody, st.Component, muc.Config{
		SIPDomain: fc.Addr().String(),
		OnEvent: func(ev muc.Event) {
			if sy := s.Load(); sy != nil {
				sy.OnChatEvent(ev)
			}
		},
	})

	cfg := bsync.Config{Audio: fc, Chat: st.MUC, VCards: st.MUC, SIPDomain: fc.Addr().String(), ChatDomain: st.Component,
		AnnounceTokens: true, Registerer: st.Registry, JoinTonesUpTo: 20}
	if o.BrowserJoin {
		st.Web = startWeb(t, ctx, m, &s, pmin+399, st.Registry)
		cfg.Browsers, cfg.WebEndpoints, cfg.WebLink = browserwire.NewLegs(st.Web), fc, st.Web.Link
		go func() {
			for ev := range webEvents {
				st.Web.MediaTimeout(ev)
			}
		}()
	}
	if o.Sync != nil {
		o.Sync(&cfg)
	}
	sy, err := bsync.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st.Sync = sy
	s.Store(sy)
	sdone := make(chan error, 1)
	go func() { sdone <- sy.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-sdone; err != nil {
			t.Errorf("sync.Serve: %v", err)
		}
	})
	return st
}

// RoomJID is the chat address of a room.
func (st *Stack) RoomJID(room string) string { return room + "@" + st.Component }

// RoomURI is the SIP address of a room, dialable from a phone on loopback.
func (st *Stack) RoomURI(room string) string { return "sip:" + room + "@" + st.Focus.Addr().String() }

// AdminIQ is a muc#admin set (XEP-0045 section 8/9) with one item.
func AdminIQ(id, roomJID, item string) string {
	return `<iq type='set' id='` + id + `' to='` + roomJID + `'><query xmlns='http://jabber.org/protocol/muc#admin'>` + item + `</query></iq>`
}

// OwnerIQ is a muc#owner set (XEP-0045 section 10) with the given payload.
func OwnerIQ(id, roomJID, payload string) string {
	return `<iq type='set' id='` + id + `' to='` + roomJID + `'><query xmlns='http://jabber.org/protocol/muc#owner'>` + payload + `</query></iq>`
}

// WaitFor polls cond until it holds or 20 s pass.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 20 s waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWeb runs browser join on loopback, its media on one port of the
// stack's range.
func startWeb(t testing.TB, ctx context.Context, m *mixer.Mixer, s *atomic.Pointer[bsync.Sync], port int, reg prometheus.Registerer) *join.Server {
	t.Helper()
	srv, err := join.New(join.Config{Listen: "127.0.0.1:0", RTPAddress: netip.MustParseAddr("127.0.0.1"), UDPPort: port,
		Media: m, Gate: browserwire.NewGate(s, nil), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("join.Serve: %v", err)
		}
	})
	return srv
}
