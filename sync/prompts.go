package sync

import (
	"context"
	"errors"
	gosync "sync"
	"time"

	"cusax.dev/bridge/focus"
)

// Prompts plays voice prompts and tones to calls (docs/design/14_prompts.md):
// *focus.Focus satisfies it. Sync uses it when the audio face offers it;
// without it (a test's fake) callers hear nothing, everything else holds.
type Prompts interface {
	PlayPrompt(ctx context.Context, callID, name string, wait bool) error
	PlayToOthers(callID, name string) error
	PlayToRoom(room, name string) error
}

// The prompts sync plays, named as the files of the prompt set
// (prompts/<language>/<name>.wav).
const (
	promptPINEnter   = "pin-enter"
	promptPINWrong   = "pin-wrong"
	promptPINRemoved = "pin-removed"
	promptFirst      = "first-participant"
	promptMuted      = "muted"
	promptUnmuted    = "unmuted"
	promptKicked     = "kicked"
	promptRoomEnded  = "room-ended"
	promptJoinTone   = "join-tone"
	promptLeaveTone  = "leave-tone"
)

// promptsPlayed lists every prompt sync may ask for, so a test can check
// the shipped set has them all.
var promptsPlayed = []string{promptPINEnter, promptPINWrong, promptPINRemoved, promptFirst,
	promptMuted, promptUnmuted, promptKicked, promptRoomEnded, promptJoinTone, promptLeaveTone}

// promptWait bounds waiting for a prompt before a BYE: the longest shipped
// prompt is about 4 s, and a hang-up must not hang on a stuck one.
const promptWait = 8 * time.Second

func (s *Sync) prompts() (Prompts, bool) {
	p, ok := s.cfg.Audio.(Prompts) // the focus itself: s.audio may wrap it
	return p, ok
}

// play plays a prompt to one call without waiting.
func (s *Sync) play(ctx context.Context, callID, name string) {
	if p, ok := s.prompts(); ok {
		if err := p.PlayPrompt(ctx, callID, name, false); err != nil && !errors.Is(err, focus.ErrNoSuchCall) {
			s.log.Debug("prompt not played", "call", callID, "prompt", name, "err", err)
		}
	}
}

// promptJoined greets a call that joined the audio: a caller of a
// password room is asked for the PIN; anyone else is told when they are
// alone, or the others hear a join tone (in rooms of at most
// Config.JoinTonesUpTo calls). It runs again once a PIN was right.
func (s *Sync) promptJoined(ctx context.Context, l *legState) {
	if !l.joined {
		return
	}
	if l.pin != nil {
		s.play(ctx, l.callID, promptPINEnter)
		return
	}
	others := s.joinedLegs(l.room) - 1
	if others == 0 {
		s.play(ctx, l.callID, promptFirst)
		return
	}
	if p, ok := s.prompts(); ok && s.tonesFor(others+1) && s.roomTones(l.room) {
		if err := p.PlayToOthers(l.callID, promptJoinTone); err != nil {
			s.log.Debug("join tone not played", "call", l.callID, "err", err)
		}
	}
}

// promptLeft plays the leave tone to whoever is still in the room after a
// call that had joined (and given its PIN) ended.
func (s *Sync) promptLeft(l *legState) {
	if !l.joined || l.pin != nil {
		return
	}
	left := s.joinedLegs(l.room)
	if p, ok := s.prompts(); ok && left > 0 && s.tonesFor(left+1) && s.roomTones(l.room) {
		if err := p.PlayToRoom(l.room, promptLeaveTone); err != nil {
			s.log.Debug("leave tone not played", "room", l.room, "err", err)
		}
	}
}

// tonesFor says whether a room of n calls hears join and leave tones.
func (s *Sync) tonesFor(n int) bool { return n <= s.cfg.JoinTonesUpTo }

// roomTones says whether the room's configuration keeps its join and leave
// tones (the default, and for a room the chat face does not know).
func (s *Sync) roomTones(room string) bool {
	info, ok := s.roomInfo(room)
	return !ok || !info.Config.NoJoinTones
}

// joinedLegs counts the calls of a room that joined and are past any PIN.
func (s *Sync) joinedLegs(room string) int {
	n := 0
	for _, o := range s.legsIn(room) {
		if o.joined && o.pin == nil && !o.ending {
			n++
		}
	}
	return n
}

// promptVoice tells a joined caller that a moderator took or gave back
// their voice; called before l.muted takes the new value.
func (s *Sync) promptVoice(ctx context.Context, l *legState, muted bool) {
	if !l.joined || l.pin != nil || l.muted == muted {
		return
	}
	name := promptUnmuted
	if muted {
		name = promptMuted
	}
	s.play(ctx, l.callID, name)
}

// promptPINWrong tells a caller the PIN was wrong, unless that was the
// last try (the removal prompt comes with the hang-up).
func (s *Sync) promptPINWrong(ctx context.Context, l *legState) {
	if l.pin != nil && l.pin.tries < maxPINTries {
		s.play(ctx, l.callID, promptPINWrong)
	}
}

// promptBeforeBye plays the removal prompt of a hang-up sync asked for
// and waits until it was heard, so the BYE follows it. The caller is out
// of the mix from the start: the removal takes effect at once, the BYE
// waits only for the words.
func (s *Sync) promptBeforeBye(ctx context.Context, callID, action string) {
	p, ok := s.prompts()
	if !ok {
		return
	}
	if err := s.audio.SetMuted(callID, true); err != nil {
		return // not a call the focus holds (yet): nothing to tell
	}
	name := promptKicked
	if action == "pin" {
		name = promptPINRemoved
	}
	c, cancel := context.WithTimeout(ctx, promptWait)
	defer cancel()
	if err := p.PlayPrompt(c, callID, name, true); err != nil && !errors.Is(err, focus.ErrNoSuchCall) {
		s.log.Debug("removal prompt not played", "call", callID, "err", err)
	}
}

// promptRoomEnded tells every call of a destroyed room, all at once, and
// waits until they heard it before the room's BYEs.
func (s *Sync) promptRoomEnded(ctx context.Context, room string) {
	p, ok := s.prompts()
	if !ok {
		return
	}
	c, cancel := context.WithTimeout(ctx, promptWait)
	defer cancel()
	var wg gosync.WaitGroup
	for _, li := range s.audio.Legs(room) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.PlayPrompt(c, li.CallID, promptRoomEnded, true)
		}()
	}
	wg.Wait()
}
