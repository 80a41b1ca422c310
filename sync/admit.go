package sync

import (
	"context"
	"strings"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// Admit is the focus's admission hook (focus.Config.Admit): it binds the
// call to a person when it can, and applies the chat room's rules before
// the call is answered, so a banned person gets 403 and a visitor is muted
// from the first frame.
func (s *Sync) Admit(ctx context.Context, call focus.CallFacts) focus.Admission {
	if s.nodes != nil {
		if adm, here := RouteCall(ctx, s.cfg.Cluster.Ownership, call, s.cfg.Cluster.Proxy); !here {
			if adm.Verdict == focus.Moved || adm.Verdict == focus.Proxy {
				s.log.Info("call sent to its room's owner", "room", call.Room, "call", call.CallID, "owner", adm.Contact, "proxied", adm.Verdict == focus.Proxy)
			}
			return adm
		}
	}
	jid, method, why := s.bind(ctx, call)
	if why != "" {
		return s.refuse(call, "token", why)
	}
	info, exists := s.roomInfo(call.Room)
	aff := store.AffiliationNone
	if jid != "" && exists {
		a, err := s.chat.Affiliation(call.Room, jid)
		if err == nil {
			aff = a
		}
	}
	if aff == store.AffiliationOutcast {
		return s.refuse(call, "banned", "banned from this room")
	}
	if exists && info.Config.MembersOnly && affRank(aff) < affRank(store.AffiliationMember) {
		return s.refuse(call, "members-only", "members only")
	}
	if exists && info.Config.EncryptedMediaOnly && !encrypted(call.Media) {
		s.m.refused.WithLabelValues("unencrypted").Inc()
		s.log.Info("call refused", "room", call.Room, "call", call.CallID, "from", call.From, "reason", "unencrypted")
		return focus.Admission{Verdict: focus.NeedsEncryption,
			Reason: "Not Acceptable Here (this room takes encrypted audio only: call over TLS with SRTP)"}
	}
	if adm, full := s.roomFull(call, jid, aff, info); full {
		return adm
	}
	l := &legState{
		callID: call.CallID, room: call.Room, jid: jid, method: method,
		display: displayName(call), dialOut: call.DialOut, admitted: s.now(),
		secure: call.Secure, media: call.Media,
	}
	muted := s.roleMuted(call.Room, l, info, exists)
	deaf := false
	if exists && info.Config.PasswordProtected && method != "token" {
		// The password comes as a DTMF PIN (digits then #); until then the
		// caller neither hears the room nor is heard, nor is shown: only
		// its own prompts play.
		l.pin = &pinEntry{deadline: s.now().Add(s.cfg.PINTimeout)}
		muted, deaf = true, true
	}
	l.muted = muted
	s.mu.Lock()
	s.legs[call.CallID] = l
	s.mu.Unlock()
	s.m.bindings.WithLabelValues(method).Inc()
	s.log.Info("call admitted", "room", call.Room, "call", call.CallID, "bound", jid, "method", method, "muted", muted)
	return focus.Admission{Verdict: focus.Accept, Muted: muted, Deaf: deaf}
}

func (s *Sync) refuse(call focus.CallFacts, reason, phrase string) focus.Admission {
	s.m.refused.WithLabelValues(reason).Inc()
	s.log.Info("call refused", "room", call.Room, "call", call.CallID, "from", call.From, "reason", reason)
	return focus.Admission{Verdict: focus.Forbidden, Reason: "Forbidden (" + phrase + ")"}
}

// bind ties a call to a bare JID, in DESIGN.md's order of trust: join
// token, verified impp hint, directory rule. A token that does not check
// out refuses the call (why is set) rather than falling back to an
// anonymous join: whoever dialled a personal URI expected to be someone.
func (s *Sync) bind(ctx context.Context, call focus.CallFacts) (jid, method, why string) {
	if call.Token != "" {
		j, ok := s.checkToken(ctx, call.Room, call.Token)
		if !ok {
			return "", "", "unknown or expired join token"
		}
		return j, "token", ""
	}
	dirJID := lookupDirectory(s.dir, call.From)
	for _, h := range call.IMPP {
		hj := impJID(h)
		if hj == "" {
			continue
		}
		if hj == dirJID {
			return hj, "hint", ""
		}
		if s.cfg.VCards != nil && s.vcardLists(ctx, hj, call.From) {
			return hj, "hint", ""
		}
		s.log.Info("impp hint not verified; the caller stays anonymous", "call", call.CallID, "hint", hj, "from", call.From)
	}
	if dirJID != "" {
		return dirJID, "directory", ""
	}
	return "", "none", ""
}

func (s *Sync) vcardLists(ctx context.Context, jid, aor string) bool {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := s.cfg.VCards.VCard(c, jid)
	if err != nil {
		s.log.Info("vCard fetch failed", "jid", jid, "err", err)
		return false
	}
	for _, a := range vcardSIPAddresses(raw) {
		if sameAOR(a, aor) {
			return true
		}
	}
	return false
}

func (s *Sync) roomInfo(room string) (muc.RoomInfo, bool) {
	if one, ok := s.chat.(interface {
		Room(string) (muc.RoomInfo, bool)
	}); ok {
		return one.Room(room)
	}
	return findRoom(s.chat.Rooms(), room)
}

// roleMuted says whether a leg should be out of the mix: its occupant is a
// visitor, or, with no occupant yet, it would enter as one.
func (s *Sync) roleMuted(room string, l *legState, info muc.RoomInfo, exists bool) bool {
	if !exists {
		return false
	}
	occ, _ := s.chat.Occupants(room)
	for _, o := range occ {
		if (l.audioNick != "" && o.AudioOnly && o.Nick == l.audioNick) ||
			(l.audioNick == "" && l.jid != "" && !o.AudioOnly && o.JID == l.jid) {
			return o.Role == muc.RoleVisitor
		}
	}
	if !info.Config.Moderated {
		return false
	}
	if l.jid == "" {
		return true
	}
	a, _ := s.chat.Affiliation(room, l.jid)
	return affRank(a) < affRank(store.AffiliationMember)
}

func affRank(a store.Affiliation) int {
	switch a {
	case store.AffiliationOutcast:
		return -1
	case store.AffiliationMember:
		return 1
	case store.AffiliationAdmin:
		return 2
	case store.AffiliationOwner:
		return 3
	}
	return 0
}

// displayName is the nick of a caller's audio-only occupant: the display
// name, else the user part (the number) of its address.
func displayName(call focus.CallFacts) string {
	if n := strings.TrimSpace(call.DisplayName); n != "" {
		return n
	}
	if u, _, ok := splitAOR(call.From); ok {
		return u
	}
	return "phone"
}

// encrypted says whether a leg's media security protects its audio.
func encrypted(media string) bool { return media == focus.MediaSRTP || media == MediaDTLSSRTP }

// MediaDTLSSRTP is a browser leg's media security (WebRTC's DTLS-SRTP).
const MediaDTLSSRTP = "dtls-srtp"
