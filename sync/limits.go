package sync

import (
	"strconv"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// roomFull applies the room's muc#roomconfig_maxusers to a call, so one
// limit covers both faces: chat occupants, phones shown as their own
// occupants and calls admitted but not shown yet all count. A caller bound
// to a person already in the chat adds nobody (the call shows in that
// person's presence), and admins and owners enter a full room, as they do
// in the chat (XEP-0045 7.2.10).
func (s *Sync) roomFull(call focus.CallFacts, jid string, aff store.Affiliation, info muc.RoomInfo) (focus.Admission, bool) {
	limit := info.Config.MaxUsers
	if limit <= 0 || affRank(aff) >= affRank(store.AffiliationAdmin) {
		return focus.Admission{}, false
	}
	if jid != "" && s.chatNickOf(call.Room, jid) != "" {
		return focus.Admission{}, false
	}
	n := info.Occupants
	s.mu.Lock()
	for _, l := range s.legs {
		if l.room == call.Room && l.audioNick == "" && l.chatNick == "" && !l.ending {
			n++ // admitted, not in the room yet
		}
	}
	s.mu.Unlock()
	if n < limit {
		return focus.Admission{}, false
	}
	s.m.refused.WithLabelValues("room-full").Inc()
	s.log.Info("call refused", "room", call.Room, "call", call.CallID, "from", call.From, "reason", "room-full", "participants", n, "max", limit)
	return focus.Admission{Verdict: focus.RoomFull, Reason: "Busy Here (room full: at most " + strconv.Itoa(limit) + " participants)"}, true
}
