package sync

import (
	"context"
	"slices"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// reconcile applies the chat face's current state to every call, as at
// start-up and after the component link came back: legs of banned or
// non-member people end, voices follow roles, phones are shown, and
// conference-info lists the chat-only occupants again.
func (s *Sync) reconcile(ctx context.Context) {
	legs := s.audio.Legs("")
	live := map[string]focus.LegInfo{}
	rooms := map[string]bool{}
	for _, li := range legs {
		live[li.CallID] = li
		rooms[li.Room] = true
	}
	now := s.now()
	s.mu.Lock()
	for id, l := range s.legs {
		if _, ok := live[id]; !ok && (l.joined || now.Sub(l.admitted) > 2*time.Minute) {
			delete(s.legs, id)
		}
	}
	for _, li := range legs {
		if s.legs[li.CallID] == nil {
			l := s.legFromFactsLocked(li.Call)
			l.callID, l.room = li.CallID, li.Room
			s.legs[li.CallID] = l
		}
		l := s.legs[li.CallID]
		l.joined = li.State == "connected" || li.State == "on-hold" || li.State == "answered"
		l.ringing = li.State == "alerting"
		l.held = li.State == "on-hold"
		l.muted, l.selfMuted, l.mediaID = li.Muted, li.SelfMuted, li.MediaID
	}
	s.mu.Unlock()
	var chatRooms []muc.RoomInfo
	if s.nodes == nil {
		chatRooms = s.chat.Rooms()
	} else {
		// Among many nodes only the rooms with calls here are this node's
		// business; the others are reconciled by their owners.
		for room := range rooms {
			if r, ok := s.roomInfo(room); ok {
				chatRooms = append(chatRooms, r)
			}
		}
	}
	for _, r := range chatRooms {
		rooms[r.Name] = true
		s.mu.Lock()
		s.moderatedLocked(r.Name, r.Config.Moderated)
		s.mu.Unlock()
	}
	names := make([]string, 0, len(rooms))
	for n := range rooms {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, room := range names {
		s.reconcileRoom(ctx, room)
	}
	s.log.Info("reconciled", "rooms", len(names), "legs", len(legs))
}

func (s *Sync) reconcileRoom(ctx context.Context, room string) {
	info, exists := s.roomInfo(room)
	occ, _ := s.chat.Occupants(room)
	present := map[string]muc.OccupantInfo{}
	for _, o := range occ {
		present[o.Nick] = o
	}
	var out []*legState
	for _, l := range s.legsIn(room) {
		if !l.joined && !l.ringing {
			continue
		}
		aff := store.AffiliationNone
		if l.jid != "" && exists {
			aff, _ = s.chat.Affiliation(room, l.jid)
		}
		if aff == store.AffiliationOutcast || (exists && info.Config.MembersOnly && affRank(aff) < affRank(store.AffiliationMember)) {
			out = append(out, l)
			continue
		}
		if l.pin != nil {
			continue
		}
		if o, ok := present[l.audioNick]; l.audioNick != "" && (!ok || !o.AudioOnly) {
			l.audioNick = "" // lost while we were away
		}
		if o, ok := present[l.chatNick]; l.chatNick != "" && (!ok || o.JID != l.jid) {
			l.chatNick = ""
		}
		s.showLeg(ctx, l)
		if m := s.roleMuted(room, l, info, exists); m != l.muted {
			s.setMuted(ctx, l, m)
		}
	}
	s.kick(ctx, out, "kick", "not allowed in this room", time.Now())
	s.refreshChatUsers(ctx, room)
}

// refreshChatUsers lists in conference-info the chat occupants that are
// not on the call, with their MUC role (RFC 7081 section 4), named by their
// occupant JID so a semi-anonymous room's real JIDs stay hidden.
func (s *Sync) refreshChatUsers(ctx context.Context, room string) {
	occ, err := s.chat.Occupants(room)
	if err != nil {
		occ = nil
	}
	onCall := map[string]bool{}
	for _, l := range s.legsIn(room) {
		if l.jid != "" && l.joined {
			onCall[l.jid] = true
		}
	}
	var users []focus.ChatUser
	for _, o := range occ {
		if o.AudioOnly || onCall[o.JID] {
			continue
		}
		entity := "xmpp:" + room + "/" + o.Nick
		if s.cfg.ChatDomain != "" {
			entity = "xmpp:" + room + "@" + s.cfg.ChatDomain + "/" + o.Nick
		}
		users = append(users, focus.ChatUser{Entity: entity, DisplayText: o.Nick + " (" + string(o.Role) + ")"})
	}
	s.audio.SetChatUsers(room, users)
}

func (s *Sync) moderatedLocked(room string, m bool) { s.moderated[room] = m }

func (s *Sync) wasModerated(room string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.moderated[room]
}
