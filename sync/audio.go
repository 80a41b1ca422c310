package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
)

// OnFocusEvent is the focus's event hook (focus.Config.OnEvent). It never
// blocks: the event is applied in order by Serve.
func (s *Sync) OnFocusEvent(ev focus.Event) {
	s.do(func(ctx context.Context) { s.onAudio(ctx, ev) })
}

// Talking is where cmd/bridge reports the mixer's talk detection
// (mixer.EventTalking: the media leg ID and whether it started or stopped),
// shown in the talker's presence.
func (s *Sync) Talking(mediaID uint64, talking bool) {
	s.do(func(ctx context.Context) {
		for _, li := range s.audio.Legs("") {
			if li.MediaID != mediaID {
				continue
			}
			s.mu.Lock()
			l := s.legs[li.CallID]
			changed := l != nil && l.talking != talking
			if changed {
				l.talking = talking
			}
			s.mu.Unlock()
			if changed {
				s.showPresence(ctx, l)
			}
			return
		}
	})
}

func (s *Sync) onAudio(ctx context.Context, ev focus.Event) {
	s.mu.Lock()
	l := s.legs[ev.CallID]
	if l == nil && (ev.Kind == focus.EventJoined || ev.Kind == focus.EventAlerting) {
		// A call Admit did not see (a dial-out by REFER, or sync started
		// late): anonymous unless its facts bind it.
		l = s.legFromFactsLocked(ev.Call)
		s.legs[ev.CallID] = l
	}
	s.mu.Unlock()
	if l == nil {
		// Not a call of ours: an out-of-dialog MESSAGE, or an event of a
		// call that already ended. An out-of-dialog MESSAGE proves nothing
		// about who sent it, so it is not posted as anyone.
		return
	}
	switch ev.Kind {
	case focus.EventJoined:
		l.joined, l.ringing = true, false
		s.promptJoined(ctx, l)
		if l.pin != nil {
			return // shown once the PIN is right
		}
		s.showLeg(ctx, l)
	case focus.EventAlerting:
		l.ringing = true
		s.showPresence(ctx, l)
	case focus.EventLeft:
		s.mu.Lock()
		delete(s.legs, ev.CallID)
		s.mu.Unlock()
		s.promptLeft(l)
		s.hideLeg(ctx, l, ev.Reason)
	case focus.EventHold:
		l.held = ev.Held
		s.showPresence(ctx, l)
	case focus.EventMute:
		was := l.selfMuted
		for _, li := range s.audio.Legs(l.room) {
			if li.CallID == l.callID {
				l.selfMuted = li.SelfMuted
			}
		}
		s.auditSelfMute(l, was)
		s.showPresence(ctx, l)
	case focus.EventDTMF:
		if l.pin != nil {
			s.pinDigit(ctx, l, ev.Digit)
		}
	case focus.EventMessage:
		s.phoneMessage(ctx, l, ev)
	}
}

// legFromFactsLocked rebuilds the binding of a call from what the focus
// knows of it; call with s.mu held.
func (s *Sync) legFromFactsLocked(call focus.CallFacts) *legState {
	l := &legState{callID: call.CallID, room: call.Room, method: "none", display: displayName(call),
		dialOut: call.DialOut, admitted: s.now(), secure: call.Secure, media: call.Media}
	if call.Token != "" {
		if j, ok := s.checkTokenLocked(call.Room, call.Token); ok {
			l.jid, l.method = j, "token"
		}
	} else if j := lookupDirectory(s.dir, call.From); j != "" {
		l.jid, l.method = j, "directory"
	}
	return l
}

// showLeg makes a connected leg visible in the chat room: in its person's
// own presence when they are in the room, else as an audio-only occupant.
func (s *Sync) showLeg(ctx context.Context, l *legState) {
	if l.jid != "" && l.audioNick == "" {
		if nick := s.chatNickOf(l.room, l.jid); nick != "" {
			l.chatNick = nick
			s.showPresence(ctx, l)
			s.refreshChatUsers(ctx, l.room)
			return
		}
	}
	if l.audioNick != "" {
		s.showPresence(ctx, l)
		return
	}
	s.addAudioOccupant(ctx, l)
	s.refreshChatUsers(ctx, l.room)
}

func (s *Sync) addAudioOccupant(ctx context.Context, l *legState) {
	base := l.display
	for i := 1; i <= 20; i++ {
		nick := base
		if i > 1 {
			nick = fmt.Sprintf("%s (%d)", base, i)
		}
		err := s.chat.AddAudioOccupant(ctx, l.room, nick, s.presenceOf(l))
		switch {
		case err == nil:
			l.audioNick = nick
			// A moderated room makes a new occupant a visitor: follow it.
			info, ok := s.roomInfo(l.room)
			if m := s.roleMuted(l.room, l, info, ok); m != l.muted {
				s.setMuted(ctx, l, m)
			}
			return
		case errors.Is(err, muc.ErrNickInUse):
			continue
		case errors.Is(err, muc.ErrBadNick) && base != "phone":
			base, i = "phone", 0
			continue
		default:
			s.log.Warn("cannot show a phone leg in the room", "room", l.room, "nick", nick, "err", err)
			return
		}
	}
}

// hideLeg undoes showLeg when the call ended.
func (s *Sync) hideLeg(ctx context.Context, l *legState, reason string) {
	if l.audioNick != "" {
		status := "left the call"
		if reason == "booted" {
			status = "removed from the call"
		}
		if err := s.chat.RemoveAudioOccupant(ctx, l.room, l.audioNick, status); err != nil && !errors.Is(err, muc.ErrNoOccupant) && !errors.Is(err, muc.ErrNoRoom) {
			s.log.Warn("cannot remove a phone leg from the room", "room", l.room, "nick", l.audioNick, "err", err)
		}
	}
	if l.chatNick != "" {
		_ = s.chat.SetOccupantAudio(ctx, l.room, l.chatNick, nil)
	}
	if l.browser {
		s.showWebLegs(l.room)
	}
	s.refreshChatUsers(ctx, l.room)
}

func (s *Sync) presenceOf(l *legState) muc.PhonePresence {
	on := "on the phone"
	if l.browser {
		on = "in the call from the browser"
	}
	p := muc.PhonePresence{Muted: l.muted || l.selfMuted, Held: l.held, Talking: l.talking, Status: on}
	if l.browser {
		p.Via = "browser"
	}
	p.Signalling, p.Media = l.signalling(), l.mediaSecurity()
	if !l.ringing && !(l.dialOut && !l.joined) {
		if encrypted(p.Media) {
			p.Status += " (encrypted)"
		} else {
			p.Status += " (not encrypted)"
		}
	}
	switch {
	case l.ringing || (l.dialOut && !l.joined):
		p.Status = "ringing"
	case l.held:
		p.Status, p.Show = "on hold", "away"
	case l.selfMuted:
		p.Status = on + ", muted"
	case l.muted:
		p.Status = on + ", no voice"
	}
	return p
}

// showPresence updates whichever presence shows the leg.
func (s *Sync) showPresence(ctx context.Context, l *legState) {
	if l.browser {
		s.showWebLegs(l.room)
	}
	p := s.presenceOf(l)
	switch {
	case l.audioNick != "":
		if err := s.chat.UpdateAudioOccupant(ctx, l.room, l.audioNick, p); err != nil {
			s.log.Debug("phone presence not updated", "nick", l.audioNick, "err", err)
		}
	case l.chatNick != "":
		if err := s.chat.SetOccupantAudio(ctx, l.room, l.chatNick, &p); err != nil {
			s.log.Debug("occupant audio not updated", "nick", l.chatNick, "err", err)
		}
	}
}

// chatNickOf finds the chat occupant of a person in a room.
func (s *Sync) chatNickOf(room, jid string) string {
	occ, _ := s.chat.Occupants(room)
	for _, o := range occ {
		if !o.AudioOnly && o.JID == jid {
			return o.Nick
		}
	}
	return ""
}

// phoneMessage posts a SIP MESSAGE from a phone without XMPP as groupchat
// from its audio-only occupant. Bound people read and write in their own
// XMPP client, so theirs are not duplicated.
func (s *Sync) phoneMessage(ctx context.Context, l *legState, ev focus.Event) {
	if l.audioNick == "" || l.jid != "" {
		return
	}
	ct := strings.ToLower(strings.TrimSpace(ev.ContentType))
	if ct != "" && !strings.HasPrefix(ct, "text/plain") {
		return
	}
	body := strings.TrimSpace(string(ev.Text))
	if body == "" {
		return
	}
	if err := s.chat.SendOccupantMessage(ctx, l.room, l.audioNick, body); err != nil {
		s.log.Info("phone message not posted", "room", l.room, "nick", l.audioNick, "err", err)
		return
	}
	s.chatToPhones(l.room, l.audioNick, body, l.callID)
}

// chatToPhones sends a groupchat line to every SIP-only phone of the room
// but the one it came from, as MESSAGE "nick: text".
func (s *Sync) chatToPhones(room, nick, body, except string) {
	if body == "" || (s.cfg.PhoneChat != nil && !s.cfg.PhoneChat(room)) {
		return
	}
	text := []byte(nick + ": " + body)
	for _, l := range s.legsIn(room) {
		if l.jid != "" || !l.joined || l.pin != nil || l.callID == except {
			continue
		}
		callID := l.callID
		s.msgq.push(func(ctx context.Context) {
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := s.audio.SendMessage(c, callID, "text/plain;charset=utf-8", text); err != nil {
				s.log.Debug("chat not sent to a phone", "call", callID, "err", err)
			}
		})
	}
}

// signalling names how the leg's signalling travels, as both faces show it.
func (l *legState) signalling() string {
	switch {
	case l.browser && l.secure:
		return "https"
	case l.browser:
		return "http"
	case l.secure:
		return "tls"
	}
	return "plain"
}

// mediaSecurity names how the leg's audio travels; a leg whose call facts
// said nothing is plain RTP.
func (l *legState) mediaSecurity() string {
	if l.media == "" {
		return focus.MediaPlain
	}
	return l.media
}
