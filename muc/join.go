package muc

import (
	"mellium.im/xmpp/jid"

	"cusax.dev/bridge/store"
)

// join admits from as nick, creating the room when it does not exist.
// Nothing is changed until every admission check has passed.
func (s *Service) join(r *room, name string, in *element, from jid.JID, nick, key string, modified bool) *stanzaError {
	if s.stopping.Load() {
		return &stanzaError{"wait", "service-unavailable", "the service is shutting down"}
	}
	bare := from.Bare().String()
	r, created, serr := s.roomToJoin(r, name, bare)
	if serr != nil {
		return serr
	}
	// A room opened by a phone leg (AddAudioOccupant) has no owner yet: the
	// first chat user takes it, exactly as if they had created it.
	claim := !created && r.owners() == 0 && len(r.occupantsWithJID()) == 0
	req := joinRequest{
		bare:   bare,
		key:    key,
		stored: r.affiliation(bare),
		x:      in.child(NSMUC, "x"),
	}
	req.aff = req.stored
	if claim && req.aff == store.AffiliationNone {
		req.aff = store.AffiliationOwner
	}
	if serr := admit(r, req); serr != nil {
		return serr
	}
	if created {
		s.rooms[name] = r
		s.log.Info("room created", "room", name, "by", bare)
	}
	if claim {
		// The claimer gets 201 and may configure, like a creator.
		if created, serr = s.claimOwnership(r, bare); serr != nil {
			return serr
		}
	}
	o := &occupant{
		nick: nick, key: key, jid: from, bare: bare,
		role: defaultRole(req.aff, r.cfg.Moderated),
		pres: joinPayload(in),
		id:   occupantID(s.idKey, name, bare),
	}
	s.enter(r, o, joinStatusCodes(r, created, modified))
	s.sendHistory(r, o, req.x)
	s.sendSubject(r, o)
	s.updateGauges()
	s.emit(Event{Kind: EventJoined, Room: name, Nick: nick, JID: bare, Role: o.role, Affiliation: req.aff})
	return nil
}

// roomToJoin is r, or a new room named name owned by bare when r is nil.
// A new room is not yet listed in the service: that waits for admission.
func (s *Service) roomToJoin(r *room, name, bare string) (*room, bool, *stanzaError) {
	if r != nil {
		return r, false, nil
	}
	r = newRoom(name, s.domain, s.defaultRoomConfig(), s.now())
	r.affs[bare] = store.AffiliationEntry{JID: bare, Affiliation: store.AffiliationOwner}
	if r.cfg.Persistent {
		if serr := s.persistRoom(r); serr != nil {
			return nil, false, serr
		}
	}
	r.locked = s.cfg.LockNewRooms
	return r, true, nil
}

// claimOwnership makes bare the owner of an ownerless room it enters, and
// says whether it did.
func (s *Service) claimOwnership(r *room, bare string) (bool, *stanzaError) {
	if r.affiliation(bare) != store.AffiliationNone {
		return false, nil
	}
	e := store.AffiliationEntry{JID: bare, Affiliation: store.AffiliationOwner}
	if serr := s.persistAffiliation(r, e); serr != nil {
		return false, serr
	}
	r.affs[bare] = e
	return true, nil
}

// joinRequest is what the admission checks look at.
type joinRequest struct {
	bare string
	key  string // the enforced nick
	// stored is the affiliation the room records; aff is the one the
	// occupant will have, owner when it claims an ownerless room.
	stored, aff store.Affiliation
	x           *element // the join's <x xmlns=muc/>, nil when absent
}

// admissionCheck refuses a join with the error the client is sent.
type admissionCheck func(r *room, req joinRequest) *stanzaError

// admit runs the admission checks in order; the first refusal is the one
// the client is sent.
func admit(r *room, req joinRequest) *stanzaError {
	for _, check := range []admissionCheck{
		checkUnlocked,
		checkNotBanned,
		checkMembersOnly,
		checkPassword,
		checkNickFree,
		checkRoomNotFull,
	} {
		if serr := check(r, req); serr != nil {
			return serr
		}
	}
	return nil
}

func checkUnlocked(r *room, req joinRequest) *stanzaError {
	if r.locked && req.stored != store.AffiliationOwner {
		return errItemNotFound("the room is locked until its owner configures it")
	}
	return nil
}

func checkNotBanned(_ *room, req joinRequest) *stanzaError {
	if req.aff == store.AffiliationOutcast {
		return errForbidden("you are banned from this room")
	}
	return nil
}

func checkMembersOnly(r *room, req joinRequest) *stanzaError {
	if r.cfg.MembersOnly && affRank(req.aff) < affRank(store.AffiliationMember) {
		return &stanzaError{"auth", "registration-required", "this room is members-only"}
	}
	return nil
}

// checkPassword lets owners in without the password.
func checkPassword(r *room, req joinRequest) *stanzaError {
	if !r.cfg.PasswordProtected || affRank(req.aff) >= affRank(store.AffiliationOwner) {
		return nil
	}
	if req.x == nil || req.x.child("", "password") == nil || req.x.child("", "password").text() != r.cfg.Password {
		return &stanzaError{"auth", "not-authorized", "a correct password is required to enter"}
	}
	return nil
}

func checkNickFree(r *room, req joinRequest) *stanzaError {
	return checkNickAvailable(r, req.key, req.bare)
}

// checkRoomNotFull lets admins and owners into a full room.
func checkRoomNotFull(r *room, req joinRequest) *stanzaError {
	if r.cfg.MaxUsers > 0 && len(r.occ) >= r.cfg.MaxUsers && affRank(req.aff) < affRank(store.AffiliationAdmin) {
		return &stanzaError{"wait", "service-unavailable", "the room is full"}
	}
	return nil
}

// checkNickAvailable refuses the nick key when an occupant uses it or
// another member than bare has reserved it.
func checkNickAvailable(r *room, key, bare string) *stanzaError {
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
	return nil
}

// joinStatusCodes are the status codes of the newcomer's own presence
// (XEP-0045 7.2.3): 100 non-anonymous, 201 created, 210 nick modified.
func joinStatusCodes(r *room, created, modified bool) []int {
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
	return codes
}

// enter adds o to r: others' presence to o first, then o's presence to
// every occupant, o's own copy carrying codes (XEP-0045 7.2.3).
func (s *Service) enter(r *room, o *occupant, codes []int) {
	for _, other := range r.occupantsSorted() {
		if r.broadcastsPresenceOf(other.role) {
			s.send(s.presenceOf(r, other, o, presenceItem{}))
		}
	}
	r.putOccupant(o)
	r.byJID[o.jid.String()] = o
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
}
