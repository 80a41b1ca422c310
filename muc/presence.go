package muc

import (
	"mellium.im/xmpp/jid"
)

// joinPayload keeps the parts of a client presence that are broadcast to
// others: everything except the MUC join element and any spoofed XEP-0421
// or bridge extension.
func joinPayload(in *element) []*element {
	var out []*element
	for _, c := range in.children() {
		switch {
		case c.Name.Space == NSMUC, c.Name.Space == NSMUCUser, c.Name.Space == nsOccupantID,
			c.Name.Space == NSBridge, c.Name.Local == "error":
			continue
		}
		out = append(out, c.clone())
	}
	return out
}

// handlePresence covers entering, presence updates, nick changes and
// leaving (XEP-0045 sections 7.2, 7.6, 7.7, 7.14).
func (s *Service) handlePresence(in *element, from, to jid.JID) *stanzaError {
	typ := in.attr("type")
	if typ != "" && typ != "unavailable" {
		// subscribe/probe to an occupant are meaningless here.
		if typ == "probe" || typ == "subscribe" || typ == "subscribed" || typ == "unsubscribe" || typ == "unsubscribed" {
			return nil
		}
		return errBadRequest("presence type must be absent or unavailable, got " + quote(typ))
	}
	if from.Resourcepart() == "" {
		return errBadRequest("occupants are full JIDs; the from address has no resource")
	}
	name := to.Localpart()
	r := s.rooms[name]
	var self *occupant
	if r != nil {
		self = r.byJID[from.String()]
	}
	if typ == "unavailable" {
		if self != nil {
			self.pres = joinPayload(in)
			s.removeOccupant(r, self, presenceItem{unavailable: true}, EventLeft)
		}
		return nil
	}
	nick, key, err := enforceNick(to.Resourcepart())
	if err != nil {
		return errJIDMalformed(err.Error())
	}
	if self == nil {
		return s.join(r, name, in, from, nick, key, nick != to.Resourcepart())
	}
	if key == self.key {
		self.pres = joinPayload(in)
		s.broadcastPresence(r, self, presenceItem{})
		return nil
	}
	return s.changeNick(r, self, nick, key)
}

// changeNick renames an occupant: unavailable with 303 under the old nick,
// then available under the new one (XEP-0045 7.6).
func (s *Service) changeNick(r *room, o *occupant, nick, key string) *stanzaError {
	if serr := checkNickAvailable(r, key, o.bare); serr != nil {
		return serr
	}
	old := o.nick
	s.broadcastPresence(r, o, presenceItem{unavailable: true, codes: []int{303}, newNick: nick})
	r.dropOccupant(o.key)
	o.nick, o.key = nick, key
	r.putOccupant(o)
	s.broadcastPresence(r, o, presenceItem{})
	s.emit(Event{Kind: EventNickChanged, Room: r.name, Nick: nick, OldNick: old, JID: o.bare, AudioOnly: o.audioOnly(), Role: o.role})
	return nil
}

// removeOccupant takes o out of r, tells everyone (o included) and drops
// the room when a temporary one becomes empty.
func (s *Service) removeOccupant(r *room, o *occupant, it presenceItem, kind EventKind) {
	r.dropOccupant(o.key)
	if !o.audioOnly() {
		delete(r.byJID, o.jid.String())
	}
	it.unavailable = true
	s.broadcastPresence(r, o, it)
	if len(s.fwd) > 0 {
		s.abandonIQs(r, o.nick)
	}
	s.emit(Event{Kind: kind, Room: r.name, Nick: o.nick, JID: o.bare, AudioOnly: o.audioOnly(), Role: RoleNone,
		Affiliation: r.occAff(o), Actor: it.actor, Reason: it.reason, Status: it.codes})
	s.dropIfEmpty(r)
	s.updateGauges()
}

// dropIfEmpty forgets an empty temporary room (XEP-0045 10.9 "temporary").
func (s *Service) dropIfEmpty(r *room) {
	if len(r.occ) == 0 && !r.cfg.Persistent {
		delete(s.rooms, r.name)
		s.log.Info("temporary room removed", "room", r.name)
	}
}
