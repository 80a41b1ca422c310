package sync

import (
	"context"
	"errors"
	"log/slog"

	"cusax.dev/bridge/muc"
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
