package sync

import (
	"context"
	"errors"

	"cusax.dev/bridge/focus"
)

// BrowserLegs is the browser face of the audio (web/join's server, through
// cmd/bridge): legs named by an ID as calls are by their Call-ID, so sync
// acts on them through the same calls whatever their kind (DESIGN.md). A
// leg it does not hold answers focus.ErrNoSuchCall.
type BrowserLegs interface {
	LegControl
	Legs(room string) []focus.LegInfo
}

// WebEndpoints shows browser legs in conference-info: *focus.Focus
// satisfies it.
type WebEndpoints interface {
	SetWebLegs(room string, legs []focus.WebLeg)
}

// allLegs is the audio face with browser legs beside the phones: every
// control call goes to whichever side holds the leg, and listings join
// both.
type allLegs struct {
	Audio
	web BrowserLegs
}

func (a allLegs) Legs(room string) []focus.LegInfo {
	return append(a.Audio.Legs(room), a.web.Legs(room)...)
}

func (a allLegs) Kick(ctx context.Context, id, reason string) error {
	if err := a.web.Kick(ctx, id, reason); !errors.Is(err, focus.ErrNoSuchCall) {
		return err
	}
	return a.Audio.Kick(ctx, id, reason)
}

func (a allLegs) SetMuted(id string, muted bool) error {
	if err := a.web.SetMuted(id, muted); !errors.Is(err, focus.ErrNoSuchCall) {
		return err
	}
	return a.Audio.SetMuted(id, muted)
}

// CloseRoom ends both kinds of legs; the phones' error wins, as their
// subscriptions end too.
func (a allLegs) SetDeaf(id string, deaf bool) error {
	if err := a.web.SetDeaf(id, deaf); !errors.Is(err, focus.ErrNoSuchCall) {
		return err
	}
	return a.Audio.SetDeaf(id, deaf)
}

func (a allLegs) CloseRoom(ctx context.Context, room, reason string) error {
	werr := a.web.CloseRoom(ctx, room, reason)
	if err := a.Audio.CloseRoom(ctx, room, reason); err != nil {
		return err
	}
	return werr
}
