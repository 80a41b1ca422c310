package join

import (
	"context"
	"fmt"
)

// These are what sync does to browser legs when the chat room decides,
// the same calls it makes on phone legs (through cmd/bridge's adapter).

// Kick ends a browser leg from the room's side; the page says a moderator
// removed it.
func (s *Server) Kick(_ context.Context, legID, reason string) error {
	l := s.find(legID)
	if l == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchLeg, legID)
	}
	text := "removed by a moderator"
	if reason != "" {
		text += ": " + reason
	}
	l.end("booted", text)
	return nil
}

// SetMuted takes a browser's voice out of (or back into) every mix; the
// page shows it.
func (s *Server) SetMuted(legID string, muted bool) error {
	l := s.find(legID)
	if l == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchLeg, legID)
	}
	l.mu.Lock()
	changed := l.muted != muted
	l.muted = muted
	l.mu.Unlock()
	if changed {
		l.applyMute()
	}
	return nil
}

// SetDeaf makes a browser hear nothing of the room, or the room again.
func (s *Server) SetDeaf(legID string, deaf bool) error {
	l := s.find(legID)
	if l == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchLeg, legID)
	}
	l.media.SetDeaf(deaf)
	return nil
}

// CloseRoom ends every browser leg of a room (the room was destroyed).
func (s *Server) CloseRoom(_ context.Context, room, reason string) error {
	text := "the room was closed"
	if reason != "" {
		text += ": " + reason
	}
	for _, l := range s.roomLegs(room) {
		l.end("booted", text)
	}
	return nil
}

// MediaTimeout is where the mixer reports that a leg's audio stopped; a
// browser leg that sends nothing for that long is gone.
func (s *Server) MediaTimeout(mediaID uint64) {
	for _, l := range s.roomLegs("") {
		if l.media.ID() == mediaID {
			l.end("failed", "no audio from the browser")
		}
	}
}

// Legs lists a room's browser legs ("" = every room).
func (s *Server) Legs(room string) []LegInfo {
	var out []LegInfo
	for _, l := range s.roomLegs(room) {
		l.mu.Lock()
		out = append(out, LegInfo{LegID: l.id, Room: l.room, Nick: l.nick, Muted: l.muted, SelfMuted: l.selfMuted,
			MediaID: l.media.ID(), Connected: l.connected})
		l.mu.Unlock()
	}
	return out
}

func (s *Server) find(id string) *browserLeg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legs[id]
}

func (s *Server) roomLegs(room string) []*browserLeg {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*browserLeg
	for _, l := range s.legs {
		if room == "" || l.room == room {
			out = append(out, l)
		}
	}
	return out
}
