package focus

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Prompter is what a media leg that can play voice prompts and tones
// offers (docs/design/14_prompts.md); the mixer's legs do. Prompts are
// named as the files of the prompt set ("muted", "join-tone"…).
type Prompter interface {
	// Play plays a prompt to this leg alone; the channel closes once it
	// has played.
	Play(name string) (<-chan struct{}, error)
	// PlayToOthers plays a prompt into the room's mix for every leg but
	// this one.
	PlayToOthers(name string) (<-chan struct{}, error)
	// PlayToRoom plays a prompt into the room's mix for every leg.
	PlayToRoom(name string) (<-chan struct{}, error)
}

var _ Prompter = mixerLeg{}

// Tones the focus plays by itself: the caller's own DTMF self-mute (*6)
// and unmute.
const (
	PromptSelfMuted   = "self-muted"
	PromptSelfUnmuted = "self-unmuted"
)

// playoutGrace is how long after sending a prompt's last frame PlayPrompt
// still waits: phones' jitter buffers hold 40-200 ms, more on a bad link.
const playoutGrace = 500 * time.Millisecond

// ErrNoPrompts is returned when the call's media engine cannot play
// prompts (a fake in tests) or the call has no media yet.
var ErrNoPrompts = errors.New("focus: the call's media plays no prompts")

// prompter is the call's media leg as a Prompter, once the call has
// media and is not ending.
func (f *Focus) prompter(callID string) (*leg, Prompter, error) {
	l := f.legByCall(callID)
	if l == nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoSuchCall, callID)
	}
	l.mu.Lock()
	m, state := l.media, l.state
	l.mu.Unlock()
	if state != legAnswered && state != legConnected && state != legHeld {
		return nil, nil, fmt.Errorf("%w: call %q is %s", ErrNoPrompts, callID, state)
	}
	p, ok := m.(Prompter)
	if !ok {
		return nil, nil, ErrNoPrompts
	}
	return l, p, nil
}

// PlayPrompt plays a named prompt to one call only: nobody else in the
// room hears it, and the caller hears it in place of the room while it
// plays. With wait it returns once the prompt has been heard, the call
// ended or ctx ended (a BYE after a removal prompt waits so).
func (f *Focus) PlayPrompt(ctx context.Context, callID, name string, wait bool) error {
	l, p, err := f.prompter(callID)
	if err != nil {
		return err
	}
	done, err := p.Play(name)
	if err != nil {
		return fmt.Errorf("focus: prompt %q to %q: %w", name, callID, err)
	}
	if !wait {
		return nil
	}
	if err := awaitPrompt(ctx, l, done, name); err != nil {
		return err
	}
	// done means the last frame was sent; the phone plays it a jitter
	// buffer later, and a BYE sooner would cut the prompt's end off.
	grace := time.NewTimer(playoutGrace)
	defer grace.Stop()
	return awaitPrompt(ctx, l, grace.C, name)
}

// awaitPrompt waits for ch unless the call or ctx ends first.
func awaitPrompt[T any](ctx context.Context, l *leg, ch <-chan T, name string) error {
	select {
	case <-ch:
		return nil
	case <-l.done:
		return fmt.Errorf("focus: call %q ended during prompt %q", l.callID, name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PlayToOthers plays a named prompt (a join or leave tone) into the room
// of callID for every call but that one. It does not wait.
func (f *Focus) PlayToOthers(callID, name string) error {
	_, p, err := f.prompter(callID)
	if err != nil {
		return err
	}
	if _, err := p.PlayToOthers(name); err != nil {
		return fmt.Errorf("focus: prompt %q to the room of %q: %w", name, callID, err)
	}
	return nil
}

// PlayToRoom plays a named prompt (a leave tone) into a room's mix for
// every call in it. It does not wait.
func (f *Focus) PlayToRoom(room, name string) error {
	for _, l := range f.roomLegs(room) {
		l.mu.Lock()
		p, ok := l.media.(Prompter)
		l.mu.Unlock()
		if !ok {
			continue
		}
		if _, err := p.PlayToRoom(name); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: no call of room %q can take prompt %q", ErrNoPrompts, room, name)
}

// selfMuteTone tells a caller who keyed the self-mute sequence which way
// it went; a media engine without prompts stays silent.
func (l *leg) selfMuteTone(muted bool) {
	name := PromptSelfUnmuted
	if muted {
		name = PromptSelfMuted
	}
	l.mu.Lock()
	p, ok := l.media.(Prompter)
	l.mu.Unlock()
	if ok {
		if _, err := p.Play(name); err != nil {
			l.f.log.Debug("self-mute tone not played", "call", l.callID, "err", err)
		}
	}
}
