package sync

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// auditEntry is one moderation action as the audit trail records it: who
// (actor), through which face (muc, api, dtmf), on whom (target), the
// outcome, and when (the log line's time).
type auditEntry struct {
	action, face, actor, room, target, reason string
	err                                       error
}

// audit writes one structured line per moderation action, at Info under
// the message "audit", whatever face it came from, so operators can follow
// every mute, kick, ban and end of a room with one filter.
func (s *Sync) audit(e auditEntry) {
	outcome := "done"
	switch {
	case e.err == nil:
	case errors.Is(e.err, muc.ErrNoRoom), errors.Is(e.err, muc.ErrNoOccupant):
		outcome = "not found"
	default:
		outcome = "failed"
	}
	attrs := []slog.Attr{
		slog.String("action", e.action), slog.String("face", e.face), slog.String("actor", e.actor),
		slog.String("room", e.room), slog.String("target", e.target), slog.String("outcome", outcome),
	}
	if e.reason != "" {
		attrs = append(attrs, slog.String("reason", e.reason))
	}
	if e.err != nil {
		attrs = append(attrs, slog.String("err", e.err.Error()))
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "audit", attrs...)
}

// auditChat records a moderator's action taken in the chat room (an
// occupant's muc#admin or muc#owner request). Changes without an actor are
// the room's own: sync's consequences of other changes, or an operator's
// action, which Moderate recorded already; a ban comes as an affiliation
// change and then a removal, recorded once, as the former.
func (s *Sync) auditChat(ev muc.Event) {
	if ev.Actor == "" {
		return
	}
	target := ev.Nick
	if ev.JID != "" {
		target = strings.TrimSpace(ev.Nick + " (" + ev.JID + ")")
	}
	var action string
	switch ev.Kind {
	case muc.EventRoleChanged:
		switch ev.Role {
		case muc.RoleVisitor:
			action = string(ActionMute)
		case muc.RoleParticipant:
			action = string(ActionUnmute)
		default:
			action = "role " + string(ev.Role)
		}
	case muc.EventKicked:
		action = string(ActionKick)
	case muc.EventAffiliationChanged:
		action = "affiliation " + string(ev.Affiliation)
		if ev.Affiliation == store.AffiliationOutcast {
			action = string(ActionBan)
		}
		target = ev.JID
	case muc.EventRoomDestroyed:
		action, target = string(ActionEnd), ev.Room
	default:
		return
	}
	actor := ev.Actor
	if ev.ActorJID != "" {
		actor += " (" + ev.ActorJID + ")"
	}
	s.audit(auditEntry{action: action, face: "muc", actor: actor, room: ev.Room, target: target, reason: ev.Reason})
}

// auditSelfMute records a caller's own mute or unmute by DTMF, when the
// focus's event changed it (the same event also reports a mute by the room).
func (s *Sync) auditSelfMute(l *legState, was bool) {
	if l.selfMuted == was {
		return
	}
	action := "self-unmute"
	if l.selfMuted {
		action = "self-mute"
	}
	who := l.display
	if l.jid != "" {
		who += " (" + l.jid + ")"
	}
	s.audit(auditEntry{action: action, face: "dtmf", actor: who, room: l.room, target: who})
}
