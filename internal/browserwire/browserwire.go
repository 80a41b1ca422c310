// Package browserwire joins browser join (web/join) to sync: web/join
// declares what it needs (a Gate) and sync what it acts on (BrowserLegs),
// and neither imports the other (DESIGN.md). cmd/bridge and the end-to-end
// tests wire the two through these adapters.
package browserwire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"cusax.dev/bridge/focus"
	bsync "cusax.dev/bridge/sync"
	"cusax.dev/bridge/web/join"
)

// NewGate is web/join's Gate over the sync that p will point to once it is
// built (sync needs the join server first, for BrowserLegs). full, when
// set, refuses joins while the node is at its most calls (--max-calls).
func NewGate(p *atomic.Pointer[bsync.Sync], full func() (focus.Admission, bool)) join.Gate {
	return joinGate{sync: p, full: full}
}

// NewLegs is sync's view of srv's browser legs.
func NewLegs(srv *join.Server) bsync.BrowserLegs { return browserLegs{srv: srv} }

// joinGate is web/join's Gate over sync: a browser join is admitted by the
// same rules as a call, and its events are the call events sync knows.
type joinGate struct {
	sync *atomic.Pointer[bsync.Sync]
	full func() (focus.Admission, bool)
}

func (g joinGate) Admit(ctx context.Context, j join.Join) join.Decision {
	s := g.sync.Load()
	if s == nil {
		return join.Decision{Verdict: join.Unavailable, Reason: "the bridge is starting"}
	}
	display := j.Nick
	if display == "" {
		display = "browser"
	}
	adm, err := s.AdmitBrowser(ctx, focus.CallFacts{Room: j.Room, CallID: j.LegID, Token: j.Token, DisplayName: display, Source: j.Source,
		Secure: j.Secure, Media: bsync.MediaDTLSSRTP}, j.Password)
	switch {
	case errors.Is(err, bsync.ErrPasswordRequired):
		return join.Decision{Verdict: join.NeedsPassword, Reason: "this room has a password"}
	case errors.Is(err, bsync.ErrWrongPassword):
		return join.Decision{Verdict: join.WrongPassword, Reason: "wrong room password"}
	}
	reason := strings.TrimSuffix(strings.TrimPrefix(adm.Reason, "Forbidden ("), ")")
	switch adm.Verdict {
	case focus.Accept:
		// A join this node would take, over --max-calls (as for calls: a
		// join for a room elsewhere was sent there above).
		if g.full != nil {
			if full, over := g.full(); over {
				g.LegEvent(join.Event{Kind: join.EventLeft, Room: j.Room, LegID: j.LegID, Reason: "failed"})
				return join.Decision{Verdict: join.Full, Reason: strings.TrimSuffix(strings.TrimPrefix(full.Reason, "Service Unavailable ("), ")")}
			}
		}
		return join.Decision{Verdict: join.Admitted, Muted: adm.Muted}
	case focus.Forbidden:
		return join.Decision{Verdict: join.Refused, Reason: reason}
	case focus.UnknownRoom:
		return join.Decision{Verdict: join.NoRoom, Reason: reason}
	case focus.RoomFull:
		// The room, not the bridge, is full: the browser's own 4xx.
		return join.Decision{Verdict: join.RoomFull, Reason: strings.TrimSuffix(strings.TrimPrefix(adm.Reason, "Busy Here ("), ")")}
	case focus.NodeFull:
		return join.Decision{Verdict: join.Full, Reason: reason}
	case focus.Moved:
		return join.Decision{Verdict: join.Moved, Location: adm.Contact}
	}
	return join.Decision{Verdict: join.Unavailable, Reason: reason}
}

// LegEvent hands a browser leg's event to sync as the call event it is.
func (g joinGate) LegEvent(ev join.Event) {
	s := g.sync.Load()
	if s == nil {
		return
	}
	fe := focus.Event{Room: ev.Room, CallID: ev.LegID, Call: focus.CallFacts{Room: ev.Room, CallID: ev.LegID}}
	switch ev.Kind {
	case join.EventJoined:
		fe.Kind = focus.EventJoined
	case join.EventLeft:
		fe.Kind, fe.Reason = focus.EventLeft, ev.Reason
	case join.EventSelfMute:
		fe.Kind, fe.Muted, fe.SelfMuted = focus.EventMute, ev.Muted, true
	default:
		return
	}
	s.OnFocusEvent(fe)
}

func (g joinGate) Home(ctx context.Context, room string) string {
	if s := g.sync.Load(); s != nil {
		return s.BrowserHome(ctx, room)
	}
	return ""
}

func (g joinGate) Roster(room string) []join.Participant {
	s := g.sync.Load()
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var out []join.Participant
	for _, e := range s.Roster(ctx, room) {
		out = append(out, join.Participant{Nick: e.Nick, Chat: e.Chat, Audio: e.Audio, Muted: e.Muted, Talking: e.Talking, LegID: e.LegID})
	}
	return out
}

// browserLegs is sync's view of the browser legs: control calls by leg ID,
// and listings shaped as the focus's, so sync treats them like calls.
type browserLegs struct{ srv *join.Server }

func noSuchCall(err error) error {
	if errors.Is(err, join.ErrNoSuchLeg) {
		return fmt.Errorf("%w (%w)", focus.ErrNoSuchCall, err)
	}
	return err
}

func (b browserLegs) Kick(ctx context.Context, id, reason string) error {
	return noSuchCall(b.srv.Kick(ctx, id, reason))
}

func (b browserLegs) SetMuted(id string, muted bool) error {
	return noSuchCall(b.srv.SetMuted(id, muted))
}

func (b browserLegs) SetDeaf(id string, deaf bool) error {
	return noSuchCall(b.srv.SetDeaf(id, deaf))
}

func (b browserLegs) CloseRoom(ctx context.Context, room, reason string) error {
	return b.srv.CloseRoom(ctx, room, reason)
}

func (b browserLegs) Legs(room string) []focus.LegInfo {
	var out []focus.LegInfo
	for _, l := range b.srv.Legs(room) {
		state := "trying"
		if l.Connected {
			state = "connected"
		}
		out = append(out, focus.LegInfo{CallID: l.LegID, Room: l.Room, State: state, Muted: l.Muted, SelfMuted: l.SelfMuted,
			MediaID: l.MediaID, Call: focus.CallFacts{Room: l.Room, CallID: l.LegID, DisplayName: l.Nick}})
	}
	return out
}
