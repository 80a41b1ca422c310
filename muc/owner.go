package muc

import (
	"slices"

	"mellium.im/xmpp/jid"

	"cusax.dev/bridge/store"
)

// handleOwner serves muc#owner: the configuration form and destruction
// (XEP-0045 sections 10.2 and 10.9). Only owners may use it.
func (s *Service) handleOwner(r *room, in, q *element, from jid.JID) *stanzaError {
	if r.affiliation(from.Bare().String()) != store.AffiliationOwner {
		return errForbidden("only owners may configure or destroy the room")
	}
	if in.attr("type") == "get" {
		if len(q.children()) != 0 {
			return errBadRequest("a muc#owner get carries an empty query")
		}
		s.send(iqResult(in, newElem(NSMUCOwner, "query").add(s.configForm(r))))
		return nil
	}
	if d := q.child("", "destroy"); d != nil {
		alt := d.attr("jid")
		if alt != "" {
			if _, err := jid.Parse(alt); err != nil {
				return errJIDMalformed("the alternate venue is not a valid JID")
			}
		}
		reason := ""
		if rs := d.child("", "reason"); rs != nil {
			reason = rs.text()
		}
		if serr := s.destroy(r, alt, reason, d.child("", "password"), s.actorNick(r, from)); serr != nil {
			return serr
		}
		s.send(iqResult(in, nil))
		return nil
	}
	x := q.child(nsData, "x")
	if x == nil {
		return errBadRequest("a muc#owner set carries a data form or a destroy element")
	}
	switch x.attr("type") {
	case "cancel":
		if r.locked {
			// Cancelling the initial configuration abandons the room (10.1.3).
			if serr := s.destroy(r, "", "the owner cancelled the room's creation", nil, s.actorNick(r, from)); serr != nil {
				return serr
			}
		}
		s.send(iqResult(in, nil))
		return nil
	case "submit":
	default:
		return errBadRequest("the configuration form must be of type submit or cancel")
	}
	vals, serr := formValues(x)
	if serr != nil {
		return serr
	}
	cfg, serr := s.applyConfigForm(r.cfg, vals)
	if serr != nil {
		return serr
	}
	if serr := s.configure(r, cfg, s.actorNick(r, from)); serr != nil {
		return serr
	}
	s.send(iqResult(in, nil))
	return nil
}

func (s *Service) actorNick(r *room, from jid.JID) string {
	if o := r.byJID[from.String()]; o != nil {
		return o.nick
	}
	return ""
}

// configure installs cfg: it is stored first (a persistent room's change is
// durable before anyone hears of it), then occupants are told (status 104,
// 172/173 on anonymity changes) and members-only is enforced (321).
func (s *Service) configure(r *room, cfg store.RoomConfig, actor string) *stanzaError {
	old := r.cfg
	r.cfg = cfg
	switch {
	case cfg.Persistent:
		if serr := s.persistRoomAll(r); serr != nil {
			r.cfg = old
			return serr
		}
	case old.Persistent || r.persisted:
		ctx, cancel := storeCtx()
		defer cancel()
		if s.cfg.Store != nil {
			if err := s.cfg.Store.DeleteRoom(ctx, r.name); err != nil {
				r.cfg = old
				s.log.Error("deleting a room from the store", "room", r.name, "err", err)
				return errInternal("the room could not be saved")
			}
		}
		r.persisted = false
	}
	r.locked = false
	codes := []int{104}
	if old.WhoIs != cfg.WhoIs {
		if cfg.WhoIs == "anyone" {
			codes = append(codes, 172)
		} else {
			codes = append(codes, 173)
		}
	}
	x := newElem(NSMUCUser, "x")
	for _, c := range codes {
		x.add(newElem(NSMUCUser, "status", "code", itoa(c)))
	}
	s.fanOut(r, newElem(nsClient, "message", "from", r.bare, "type", "groupchat", "id", newID()).add(x))
	if cfg.MembersOnly && !old.MembersOnly {
		for _, o := range r.occupantsSorted() {
			if !o.audioOnly() && affRank(r.affiliation(o.bare)) < affRank(store.AffiliationMember) {
				s.removeOccupant(r, o, presenceItem{codes: []int{322}, reason: "the room is now members-only"}, EventLeft)
			}
		}
	}
	if !slices.Equal(old.PresenceBroadcast, cfg.PresenceBroadcast) || old.Moderated != cfg.Moderated {
		for _, o := range r.occupantsSorted() {
			want := defaultRole(r.occAff(o), cfg.Moderated)
			if old.Moderated != cfg.Moderated && o.role != RoleModerator && want != o.role && !o.audioOnly() {
				o.role = want
				s.broadcastPresence(r, o, presenceItem{})
			}
		}
	}
	c := cfg
	s.emit(Event{Kind: EventRoomConfigured, Room: r.name, Actor: actor, Config: &c})
	if _, ok := s.rooms[r.name]; ok {
		s.dropIfEmpty(r)
	}
	s.updateGauges()
	return nil
}

// destroy ends the room (XEP-0045 10.9): every occupant gets unavailable
// presence carrying <destroy/>, and the stored record goes.
func (s *Service) destroy(r *room, alt, reason string, password *element, actor string) *stanzaError {
	if s.cfg.Store != nil && (r.persisted || r.cfg.Persistent) {
		ctx, cancel := storeCtx()
		defer cancel()
		if err := s.cfg.Store.DeleteRoom(ctx, r.name); err != nil {
			s.log.Error("deleting a destroyed room from the store", "room", r.name, "err", err)
			return errInternal("the room could not be deleted")
		}
	}
	d := newElem(NSMUCUser, "destroy", "jid", alt)
	if reason != "" {
		d.add(newElem(NSMUCUser, "reason").withText(reason))
	}
	if password != nil {
		d.add(newElem(NSMUCUser, "password").withText(password.text()))
	}
	occs := r.occupantsSorted()
	r.clearOccupants()
	r.byJID = map[string]*occupant{}
	for _, o := range occs {
		if !o.audioOnly() {
			s.send(s.presenceOf(r, o, o, presenceItem{unavailable: true, destroy: d, reason: ""}))
		}
	}
	delete(s.rooms, r.name)
	s.updateGauges()
	s.emit(Event{Kind: EventRoomDestroyed, Room: r.name, Reason: reason, AlternateVenue: alt, Actor: actor})
	s.log.Info("room destroyed", "room", r.name)
	return nil
}
