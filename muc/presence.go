package muc

import (
	"mellium.im/xmpp/jid"

	"cusax.dev/bridge/store"
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

// join admits from as nick, creating the room when it does not exist.
func (s *Service) join(r *room, name string, in *element, from jid.JID, nick, key string, modified bool) *stanzaError {
	if s.stopping.Load() {
		return &stanzaError{"wait", "service-unavailable", "the service is shutting down"}
	}
	bare := from.Bare().String()
	created := false
	if r == nil {
		r = newRoom(name, s.domain, s.defaultRoomConfig(), s.now())
		r.affs[bare] = store.AffiliationEntry{JID: bare, Affiliation: store.AffiliationOwner}
		if r.cfg.Persistent {
			if serr := s.persistRoom(r); serr != nil {
				return serr
			}
		}
		r.locked = s.cfg.LockNewRooms
		created = true
	}
	claim := !created && r.owners() == 0 && len(r.occupantsWithJID()) == 0
	if r.locked && r.affiliation(bare) != store.AffiliationOwner {
		return errItemNotFound("the room is locked until its owner configures it")
	}
	aff := r.affiliation(bare)
	if claim && aff == store.AffiliationNone {
		// A room opened by a phone leg (AddAudioOccupant) has no owner yet:
		// the first chat user takes it, exactly as if they had created it.
		aff = store.AffiliationOwner
	}
	x := in.child(NSMUC, "x")
	switch {
	case aff == store.AffiliationOutcast:
		return errForbidden("you are banned from this room")
	case r.cfg.MembersOnly && affRank(aff) < affRank(store.AffiliationMember):
		return &stanzaError{"auth", "registration-required", "this room is members-only"}
	case r.cfg.PasswordProtected && affRank(aff) < affRank(store.AffiliationOwner) && (x == nil || x.child("", "password") == nil || x.child("", "password").text() != r.cfg.Password):
		return &stanzaError{"auth", "not-authorized", "a correct password is required to enter"}
	}
	if _, ok := r.occ[key]; ok {
		return errConflict("that nick is in use in this room")
	}
	for _, e := range r.affs {
		if e.Nick != "" && e.JID != bare {
			if _, k, err := enforceNick(e.Nick); err == nil && k == key {
				return errConflict("that nick is reserved by another member")
			}
		}
	}
	if r.cfg.MaxUsers > 0 && len(r.occ) >= r.cfg.MaxUsers && affRank(aff) < affRank(store.AffiliationAdmin) {
		return &stanzaError{"wait", "service-unavailable", "the room is full"}
	}
	if created {
		s.rooms[name] = r
		s.log.Info("room created", "room", name, "by", bare)
	}
	if claim && r.affiliation(bare) == store.AffiliationNone {
		e := store.AffiliationEntry{JID: bare, Affiliation: store.AffiliationOwner}
		if serr := s.persistAffiliation(r, e); serr != nil {
			return serr
		}
		r.affs[bare] = e
		created = true // the claimer gets 201 and may configure, like a creator
	}
	o := &occupant{
		nick: nick, key: key, jid: from, bare: bare,
		role: defaultRole(aff, r.cfg.Moderated),
		pres: joinPayload(in),
		id:   occupantID(s.idKey, name, bare),
	}
	// Others' presence first, then our own (XEP-0045 7.2.3), then history
	// and subject.
	for _, other := range r.occupantsSorted() {
		if r.broadcastsPresenceOf(other.role) {
			s.send(s.presenceOf(r, other, o, presenceItem{}))
		}
	}
	r.occ[key] = o
	r.byJID[from.String()] = o
	var codes []int
	if r.nonAnonymous() {
		codes = append(codes, 100)
	}
	if created {
		codes = append(codes, 201)
	}
	if modified {
		codes = append(codes, 210)
	}
	for _, v := range r.occupantsSorted() {
		if v.audioOnly() {
			continue
		}
		if v == o {
			s.send(s.presenceOf(r, o, o, presenceItem{codes: codes}))
		} else if r.broadcastsPresenceOf(o.role) {
			s.send(s.presenceOf(r, o, v, presenceItem{}))
		}
	}
	s.sendHistory(r, o, x)
	s.sendSubject(r, o)
	s.updateGauges()
	s.emit(Event{Kind: EventJoined, Room: name, Nick: nick, JID: bare, Role: o.role, Affiliation: aff})
	return nil
}

// changeNick renames an occupant: unavailable with 303 under the old nick,
// then available under the new one (XEP-0045 7.6).
func (s *Service) changeNick(r *room, o *occupant, nick, key string) *stanzaError {
	if _, ok := r.occ[key]; ok {
		return errConflict("that nick is in use in this room")
	}
	for _, e := range r.affs {
		if e.Nick != "" && e.JID != o.bare {
			if _, k, err := enforceNick(e.Nick); err == nil && k == key {
				return errConflict("that nick is reserved by another member")
			}
		}
	}
	old := o.nick
	s.broadcastPresence(r, o, presenceItem{unavailable: true, codes: []int{303}, newNick: nick})
	delete(r.occ, o.key)
	o.nick, o.key = nick, key
	r.occ[key] = o
	s.broadcastPresence(r, o, presenceItem{})
	s.emit(Event{Kind: EventNickChanged, Room: r.name, Nick: nick, OldNick: old, JID: o.bare, AudioOnly: o.audioOnly(), Role: o.role})
	return nil
}

// removeOccupant takes o out of r, tells everyone (o included) and drops
// the room when a temporary one becomes empty.
func (s *Service) removeOccupant(r *room, o *occupant, it presenceItem, kind EventKind) {
	delete(r.occ, o.key)
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
