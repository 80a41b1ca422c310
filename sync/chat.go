package sync

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// OnChatEvent is the chat face's event hook (muc.Config.OnEvent). It never
// blocks: the event is applied in order by Serve. The arrival of the stanza
// behind it (ev.At) starts the moderation latency measured in
// bridge_sync_moderation_seconds.
func (s *Sync) OnChatEvent(ev muc.Event) {
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	s.do(func(ctx context.Context) {
		if s.nodes != nil && s.nodes.forward(ctx, ev) {
			return // the room's calls live on another node
		}
		s.onChat(ctx, ev, at)
	})
}

// onChat applies one chat event to the calls: each kind has its own step.
func (s *Sync) onChat(ctx context.Context, ev muc.Event, at time.Time) {
	s.auditChat(ev)
	switch ev.Kind {
	case muc.EventJoined:
		if !ev.AudioOnly {
			s.chatJoined(ctx, ev)
		}
	case muc.EventLeft:
		s.occupantLeft(ctx, ev)
	case muc.EventNickChanged:
		s.nickChanged(ctx, ev)
	case muc.EventRoleChanged:
		s.roleChanged(ctx, ev, at)
	case muc.EventKicked, muc.EventBanned:
		s.removedByModerator(ctx, ev, at)
	case muc.EventAffiliationChanged:
		s.affiliationChanged(ctx, ev, at)
	case muc.EventRoomConfigured:
		if ev.Config != nil {
			s.roomConfigured(ctx, ev.Room, *ev.Config, at)
		}
	case muc.EventRoomDestroyed:
		s.roomDestroyed(ctx, ev, at)
	case muc.EventMessage:
		s.roomCommand(ctx, ev)
	}
}

// renameNick moves the legs shown under old, on the face the event is
// about (phone or chat), to nick; "" means no longer shown there.
func renameNick(legs []*legState, audioOnly bool, old, nick string) {
	for _, l := range legs {
		shown := &l.chatNick
		if audioOnly {
			shown = &l.audioNick
		}
		if *shown == old {
			*shown = nick
		}
	}
}

// occupantLeft: a phone or a person left the room; their legs are no
// longer shown under that nick.
func (s *Sync) occupantLeft(ctx context.Context, ev muc.Event) {
	renameNick(s.legsIn(ev.Room), ev.AudioOnly, ev.Nick, "")
	if !ev.AudioOnly {
		s.refreshChatUsers(ctx, ev.Room)
	}
}

func (s *Sync) nickChanged(ctx context.Context, ev muc.Event) {
	renameNick(s.legsIn(ev.Room), ev.AudioOnly, ev.OldNick, ev.Nick)
	s.refreshChatUsers(ctx, ev.Room)
}

// roleChanged: a visitor has no voice, anyone else has.
func (s *Sync) roleChanged(ctx context.Context, ev muc.Event, at time.Time) {
	muted := ev.Role == muc.RoleVisitor
	action := "unmute"
	if muted {
		action = "mute"
	}
	for _, l := range s.targets(ev) {
		s.setMuted(ctx, l, muted)
		s.m.moderation.WithLabelValues(action).Observe(time.Since(at).Seconds())
	}
	s.refreshChatUsers(ctx, ev.Room)
}

// removedByModerator: a kicked or banned occupant's legs are hung up.
func (s *Sync) removedByModerator(ctx context.Context, ev muc.Event, at time.Time) {
	legs := s.targets(ev)
	// For a phone the room already removed its occupant.
	renameNick(legs, ev.AudioOnly, ev.Nick, "")
	action, what := "kick", "kicked from the room"
	if ev.Kind == muc.EventBanned {
		action, what = "ban", "banned from the room"
	}
	s.kick(ctx, legs, action, reasonText(what, ev.Reason), at)
	s.refreshChatUsers(ctx, ev.Room)
}

// roomDestroyed closes the room's audio without holding up the events
// behind it.
func (s *Sync) roomDestroyed(ctx context.Context, ev muc.Event, at time.Time) {
	s.dropRoomTokens(ctx, ev.Room)
	s.async(ctx, func(c context.Context) {
		s.promptRoomEnded(c, ev.Room)
		if err := s.audio.CloseRoom(c, ev.Room, reasonText("room destroyed", ev.Reason)); err != nil {
			s.log.Warn("closing the audio of a destroyed room", "room", ev.Room, "err", err)
		}
		s.m.moderation.WithLabelValues("destroy").Observe(time.Since(at).Seconds())
	})
}

// targets are the legs a moderation event concerns: the phone leg of an
// audio-only occupant, or every leg bound to the person.
func (s *Sync) targets(ev muc.Event) []*legState {
	var out []*legState
	for _, l := range s.legsIn(ev.Room) {
		if ev.AudioOnly {
			if l.audioNick == ev.Nick {
				out = append(out, l)
			}
		} else if ev.JID != "" && l.jid == ev.JID {
			out = append(out, l)
		}
	}
	return out
}

// legsIn lists the legs sync knows in a room (admitted or connected).
func (s *Sync) legsIn(room string) []*legState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*legState
	for _, l := range s.legs {
		if l.room == room {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b *legState) int { return strings.Compare(a.callID, b.callID) })
	return out
}

func (s *Sync) setMuted(ctx context.Context, l *legState, muted bool) {
	if l.pin != nil {
		return // stays muted until the PIN is right; applied then
	}
	if err := s.audio.SetMuted(l.callID, muted); err != nil && !errors.Is(err, focus.ErrNoSuchCall) {
		s.log.Warn("cannot change a leg's voice", "call", l.callID, "err", err)
		return
	}
	s.promptVoice(ctx, l, muted)
	l.muted = muted
	s.showPresence(ctx, l)
}

// kick hangs up legs (BYE, or CANCEL while ringing) without holding up the
// events behind it; the histogram sees the BYE sent.
func (s *Sync) kick(ctx context.Context, legs []*legState, action, reason string, at time.Time) {
	for _, l := range legs {
		if l.ending {
			continue // a ban comes as both an affiliation change and a 301
		}
		l.ending = true
		callID := l.callID
		s.async(ctx, func(c context.Context) {
			s.promptBeforeBye(c, callID, action)
			if err := s.audio.Kick(c, callID, reason); err != nil && !errors.Is(err, focus.ErrNoSuchCall) {
				s.log.Warn("cannot hang up a kicked leg", "call", callID, "err", err)
			}
			s.m.moderation.WithLabelValues(action).Observe(time.Since(at).Seconds())
		})
	}
}

func reasonText(what, reason string) string {
	if reason = strings.TrimSpace(reason); reason != "" {
		return what + ": " + reason
	}
	return what
}

// chatJoined: a person entered the room. Their legs now show in their own
// presence, take their role, and they get their personal dial-in.
func (s *Sync) chatJoined(ctx context.Context, ev muc.Event) {
	for _, l := range s.targets(ev) {
		if l.audioNick != "" {
			// Shown as a phone until now: move it into their presence.
			_ = s.chat.RemoveAudioOccupant(ctx, l.room, l.audioNick, "joined the chat")
			l.audioNick = ""
		}
		l.chatNick = ev.Nick
		s.setMuted(ctx, l, ev.Role == muc.RoleVisitor)
		s.showPresence(ctx, l)
	}
	if s.cfg.AnnounceTokens && ev.JID != "" {
		s.sendDialIn(ctx, ev.Room, ev.Nick, ev.JID)
	}
	s.refreshChatUsers(ctx, ev.Room)
}

func (s *Sync) sendDialIn(ctx context.Context, room, nick, jid string) {
	tok, err := s.tokenFor(ctx, room, jid)
	if err != nil {
		s.log.Warn("cannot issue a dial-in", "room", room, "jid", jid, "err", err)
		_ = s.chat.SendPrivateMessage(ctx, room, nick, "Your personal dial-in is unavailable right now; ask again later with "+cmdDialIn+".")
		return
	}
	body := "Your personal dial-in for this room's audio: " + s.dialInURI(room, tok)
	if s.cfg.WebLink != nil {
		body += " , or join from your browser: " + s.cfg.WebLink(room, tok)
	}
	body += " (valid " + s.ttl.String() + "; calls to it are you, keep it to yourself)"
	if info, ok := s.roomInfo(room); s.cfg.RequireEncryption || (ok && info.Config.EncryptedMediaOnly) {
		body += ". This room takes encrypted audio only: call the URI over TLS (sips:, or ;transport=tls) with SRTP, or join from the browser; a plain call is refused."
	}
	if err := s.chat.SendPrivateMessage(ctx, room, nick, body); err != nil {
		s.log.Info("cannot send a dial-in", "room", room, "nick", nick, "err", err)
	}
}

func (s *Sync) affiliationChanged(ctx context.Context, ev muc.Event, at time.Time) {
	legs := s.targets(muc.Event{Room: ev.Room, JID: ev.JID})
	if len(legs) == 0 {
		return
	}
	info, ok := s.roomInfo(ev.Room)
	switch {
	case ev.Affiliation == store.AffiliationOutcast:
		s.kick(ctx, legs, "ban", reasonText("banned from the room", ev.Reason), at)
	case ok && info.Config.MembersOnly && affRank(ev.Affiliation) < affRank(store.AffiliationMember):
		s.kick(ctx, legs, "kick", "the room is for members only", at)
	default:
		for _, l := range legs {
			if m := s.roleMuted(ev.Room, l, info, ok); m != l.muted {
				s.setMuted(ctx, l, m)
			}
		}
	}
}

// roomConfigured applies members-only and moderation to the calls.
// Chat occupants get their new roles from the room itself (and sync follows
// the role events); audio-only occupants are sync's, so it sets theirs.
func (s *Sync) roomConfigured(ctx context.Context, room string, cfg store.RoomConfig, at time.Time) {
	occ, _ := s.chat.Occupants(room)
	roleOf := map[string]muc.Role{}
	for _, o := range occ {
		if o.AudioOnly {
			roleOf[o.Nick] = o.Role
		}
	}
	var out []*legState
	for _, l := range s.legsIn(room) {
		if cfg.MembersOnly {
			aff := store.AffiliationNone
			if l.jid != "" {
				aff, _ = s.chat.Affiliation(room, l.jid)
			}
			if affRank(aff) < affRank(store.AffiliationMember) {
				out = append(out, l)
				continue
			}
		}
		if l.audioNick == "" {
			continue
		}
		r := roleOf[l.audioNick]
		var want muc.Role
		switch {
		case cfg.Moderated && r == muc.RoleParticipant && !s.wasModerated(room):
			want = muc.RoleVisitor
		case !cfg.Moderated && r == muc.RoleVisitor:
			want = muc.RoleParticipant
		}
		if want != "" {
			if err := s.chat.SetRole(ctx, room, l.audioNick, want, "room moderation changed"); err != nil {
				s.log.Info("cannot set a phone's role", "room", room, "nick", l.audioNick, "err", err)
			}
		}
	}
	s.mu.Lock()
	s.moderatedLocked(room, cfg.Moderated)
	s.mu.Unlock()
	s.kick(ctx, out, "kick", "the room is now for members only", at)
}
