package sync

import (
	"context"
	"crypto/subtle"
	"time"
)

// pinEntry collects the DTMF PIN of a caller of a password-protected room
// (DESIGN.md: the room password keyed as digits, then #). Three wrong
// tries or the timeout end the call.
type pinEntry struct {
	digits   []rune
	tries    int
	deadline time.Time
}

const maxPINTries = 3

func (s *Sync) pinDigit(ctx context.Context, l *legState, d rune) {
	p := l.pin
	if d != '#' {
		if len(p.digits) < 64 {
			p.digits = append(p.digits, d)
		}
		return
	}
	info, ok := s.roomInfo(l.room)
	got := string(p.digits)
	p.digits = p.digits[:0]
	if ok && (!info.Config.PasswordProtected ||
		subtle.ConstantTimeCompare([]byte(got), []byte(info.Config.Password)) == 1) {
		l.pin = nil
		if err := s.audio.SetDeaf(l.callID, false); err != nil {
			s.log.Warn("cannot let a caller hear the room after the PIN", "call", l.callID, "err", err)
		}
		s.setMuted(ctx, l, s.roleMuted(l.room, l, info, ok))
		if l.joined {
			s.showLeg(ctx, l)
		}
		s.promptJoined(ctx, l)
		s.log.Info("PIN accepted", "room", l.room, "call", l.callID)
		return
	}
	p.tries++
	s.promptPINWrong(ctx, l)
	s.log.Info("wrong PIN", "room", l.room, "call", l.callID, "tries", p.tries)
	if p.tries >= maxPINTries {
		l.pin = nil
		s.kick(ctx, []*legState{l}, "pin", "wrong room PIN", time.Now())
	}
}

// expirePINs hangs up callers that did not key the PIN in time.
func (s *Sync) expirePINs(ctx context.Context) {
	now := s.now()
	var late []*legState
	s.mu.Lock()
	for _, l := range s.legs {
		if l.pin != nil && l.joined && now.After(l.pin.deadline) {
			l.pin = nil
			late = append(late, l)
		}
	}
	s.mu.Unlock()
	s.kick(ctx, late, "pin", "no room PIN given", time.Now())
}
