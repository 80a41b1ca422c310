package muc

import (
	"slices"
	"sort"

	"mellium.im/xmpp/jid"

	"cusax.dev/bridge/store"
)

// adminItem is one validated muc#admin change.
type adminItem struct {
	role   Role
	target *occupant
	aff    store.Affiliation
	jid    string
	nick   string
	reason string
}

// handleAdmin serves muc#admin (XEP-0045 sections 8 and 9): role and
// affiliation changes and their lists.
func (s *Service) handleAdmin(r *room, in, q *element, from jid.JID) *stanzaError {
	actor := r.byJID[from.String()]
	actorAff := r.affiliation(from.Bare().String())
	items := []*element{}
	for _, c := range q.children() {
		if c.Name.Local == "item" {
			items = append(items, c)
		}
	}
	if len(items) == 0 {
		return errBadRequest("a muc#admin query carries at least one item")
	}
	if in.attr("type") == "get" {
		return s.adminList(r, in, items, actor, actorAff)
	}
	var changes []adminItem
	for _, it := range items {
		ch, serr := s.checkAdminItem(r, it, actor, actorAff)
		if serr != nil {
			return serr
		}
		changes = append(changes, ch)
	}
	// Refuse to leave the room without an owner, counting the whole batch.
	owners := map[string]bool{}
	for j, e := range r.affs {
		if e.Affiliation == store.AffiliationOwner {
			owners[j] = true
		}
	}
	for _, ch := range changes {
		if ch.jid == "" {
			continue
		}
		if ch.aff == store.AffiliationOwner {
			owners[ch.jid] = true
		} else {
			delete(owners, ch.jid)
		}
	}
	if len(owners) == 0 {
		return errConflict("a room keeps at least one owner")
	}
	actorNick := ""
	if actor != nil {
		actorNick = actor.nick
	}
	for _, ch := range changes {
		if ch.jid != "" {
			if serr := s.setAffiliation(r, ch.jid, ch.aff, ch.nick, ch.reason, actorNick); serr != nil {
				return serr
			}
		} else if r.occ[ch.target.key] == ch.target {
			s.setRole(r, ch.target, ch.role, ch.reason, actorNick)
		}
	}
	s.send(iqResult(in, nil))
	return nil
}

// checkAdminItem validates one item against XEP-0045's permission tables
// without changing anything.
func (s *Service) checkAdminItem(r *room, it *element, actor *occupant, actorAff store.Affiliation) (adminItem, *stanzaError) {
	reason := ""
	if rs := it.child("", "reason"); rs != nil {
		reason = rs.text()
	}
	role, aff := it.attr("role"), it.attr("affiliation")
	switch {
	case role != "" && aff == "":
		if actor == nil || actor.role != RoleModerator {
			return adminItem{}, errForbidden("only moderators may change roles")
		}
		ro := Role(role)
		if !ro.valid() {
			return adminItem{}, errBadRequest("unknown role " + quote(role))
		}
		_, key, err := enforceNick(it.attr("nick"))
		if err != nil {
			return adminItem{}, errBadRequest("a role change names the occupant by nick")
		}
		target := r.occ[key]
		if target == nil {
			return adminItem{}, errItemNotFound("no occupant with that nick")
		}
		tAff := r.occAff(target)
		switch {
		case (ro == RoleModerator || target.role == RoleModerator && ro != RoleModerator) && affRank(actorAff) < affRank(store.AffiliationAdmin):
			return adminItem{}, errNotAllowed("only admins and owners grant or revoke moderator")
		case ro != RoleModerator && affRank(tAff) >= affRank(store.AffiliationAdmin):
			return adminItem{}, errNotAllowed("admins and owners cannot lose their moderator role")
		case ro == RoleNone && affRank(tAff) > affRank(actorAff):
			return adminItem{}, errNotAllowed("you cannot kick someone with a higher affiliation")
		}
		return adminItem{role: ro, target: target, reason: reason}, nil
	case aff != "" && role == "":
		a := store.Affiliation(aff)
		if !a.Valid() {
			return adminItem{}, errBadRequest("unknown affiliation " + quote(aff))
		}
		j, err := jid.Parse(it.attr("jid"))
		if err != nil || it.attr("jid") == "" {
			return adminItem{}, errJIDMalformed("an affiliation change names a valid JID")
		}
		bare := j.Bare().String()
		cur := r.affiliation(bare)
		switch {
		case affRank(actorAff) < affRank(store.AffiliationAdmin):
			return adminItem{}, errForbidden("only admins and owners change affiliations")
		case actorAff == store.AffiliationAdmin && (affRank(cur) >= affRank(store.AffiliationAdmin) || affRank(a) >= affRank(store.AffiliationAdmin)):
			return adminItem{}, errNotAllowed("admins change only none, member and outcast")
		}
		return adminItem{aff: a, jid: bare, nick: it.attr("nick"), reason: reason}, nil
	}
	return adminItem{}, errBadRequest("an item changes either a role (with nick) or an affiliation (with jid)")
}

// setRole changes an occupant's role and tells the room; role none is a
// kick (307).
func (s *Service) setRole(r *room, o *occupant, role Role, reason, actor string) {
	if role == RoleNone {
		s.removeOccupant(r, o, presenceItem{codes: []int{307}, actor: actor, reason: reason}, EventKicked)
		return
	}
	if o.role == role {
		return
	}
	o.role = role
	s.broadcastPresence(r, o, presenceItem{actor: actor, reason: reason})
	s.emit(Event{Kind: EventRoleChanged, Room: r.name, Nick: o.nick, JID: o.bare, AudioOnly: o.audioOnly(),
		Role: role, Affiliation: r.occAff(o), Actor: actor, Reason: reason})
}

// setAffiliation records a's affiliation (durably for persistent rooms) and
// applies it to that JID's occupants: ban (301), members-only removal (321)
// or a role that follows the new affiliation.
func (s *Service) setAffiliation(r *room, bare string, a store.Affiliation, nick, reason, actor string) *stanzaError {
	e := store.AffiliationEntry{JID: bare, Affiliation: a, Reason: reason, Nick: nick}
	if serr := s.persistAffiliation(r, e); serr != nil {
		return serr
	}
	if a == store.AffiliationNone {
		delete(r.affs, bare)
	} else {
		r.affs[bare] = e
	}
	s.emit(Event{Kind: EventAffiliationChanged, Room: r.name, JID: bare, Affiliation: a, Actor: actor, Reason: reason})
	for _, o := range r.occupantsSorted() {
		if o.audioOnly() || o.bare != bare {
			continue
		}
		switch {
		case a == store.AffiliationOutcast:
			s.removeOccupant(r, o, presenceItem{codes: []int{301}, actor: actor, reason: reason}, EventBanned)
		case a == store.AffiliationNone && r.cfg.MembersOnly:
			s.removeOccupant(r, o, presenceItem{codes: []int{321}, actor: actor, reason: reason}, EventLeft)
		default:
			role := defaultRole(a, r.cfg.Moderated)
			if a == store.AffiliationNone && o.role == RoleParticipant {
				role = RoleParticipant // losing membership keeps a voice already granted
			}
			o.role = role
			s.broadcastPresence(r, o, presenceItem{actor: actor, reason: reason})
		}
	}
	return nil
}

// adminList answers a list request: one item naming an affiliation or a
// role (XEP-0045 8.5, 9.3, 9.5, 10.5, 10.8).
func (s *Service) adminList(r *room, in *element, items []*element, actor *occupant, actorAff store.Affiliation) *stanzaError {
	if len(items) != 1 {
		return errBadRequest("a list request carries one item")
	}
	it := items[0]
	q := newElem(NSMUCAdmin, "query")
	switch a, ro := store.Affiliation(it.attr("affiliation")), Role(it.attr("role")); {
	case it.attr("affiliation") != "" && a.Valid() && a != store.AffiliationNone:
		allowed := affRank(actorAff) >= affRank(store.AffiliationAdmin)
		if a == store.AffiliationMember && actor != nil && slices.Contains(r.cfg.GetMemberList, string(actor.role)) {
			allowed = true
		}
		if !allowed {
			return errForbidden("you may not read that list")
		}
		var jids []string
		for j, e := range r.affs {
			if e.Affiliation == a {
				jids = append(jids, j)
			}
		}
		sort.Strings(jids)
		for _, j := range jids {
			e := r.affs[j]
			item := newElem(NSMUCAdmin, "item", "affiliation", string(a), "jid", j, "nick", e.Nick)
			if e.Reason != "" {
				item.add(newElem(NSMUCAdmin, "reason").withText(e.Reason))
			}
			q.add(item)
		}
	case it.attr("role") != "" && ro.valid() && ro != RoleNone:
		if actor == nil || actor.role != RoleModerator {
			return errForbidden("only moderators may read role lists")
		}
		for _, o := range r.occupantsSorted() {
			if o.role != ro {
				continue
			}
			item := newElem(NSMUCAdmin, "item", "affiliation", string(r.occAff(o)), "role", string(o.role), "nick", o.nick)
			if !o.audioOnly() {
				item.setAttr("jid", o.jid.String())
			}
			q.add(item)
		}
	default:
		return errBadRequest("a list request names an affiliation or a role")
	}
	s.send(iqResult(in, q))
	return nil
}

// voiceRequest handles a visitor's request for voice and a moderator's
// answer to one (XEP-0045 7.13 and 8.6).
func (s *Service) voiceRequest(r *room, sender *occupant, form *element) *stanzaError {
	vals, serr := formValues(form)
	if serr != nil {
		return serr
	}
	if allow, ok := vals["muc#request_allow"]; ok && form.attr("type") == "submit" {
		if sender.role != RoleModerator {
			return errForbidden("only moderators answer voice requests")
		}
		v, _ := single(allow)
		if b, _ := parseBool(v); !b {
			return nil
		}
		nick, _ := single(vals["muc#roomnick"])
		_, key, err := enforceNick(nick)
		if err != nil {
			return errBadRequest("the approval names the occupant in muc#roomnick")
		}
		if o := r.occ[key]; o != nil && o.role == RoleVisitor {
			s.setRole(r, o, RoleParticipant, "", sender.nick)
		}
		return nil
	}
	if v, _ := single(vals["muc#role"]); v != string(RoleParticipant) {
		return errBadRequest("a voice request asks for muc#role participant")
	}
	if sender.role != RoleVisitor {
		return nil
	}
	f := formElem("form", nsRequest, []formField{
		{v: "muc#role", typ: "list-single", label: "Requested role", values: []string{"participant"}},
		{v: "muc#jid", typ: "jid-single", label: "User ID", values: []string{sender.jid.String()}},
		{v: "muc#roomnick", typ: "text-single", label: "Room nickname", values: []string{sender.nick}},
		{v: "muc#request_allow", typ: "boolean", label: "Grant voice?", values: []string{"false"}},
	})
	for _, m := range r.occupantsSorted() {
		if m.role == RoleModerator && !m.audioOnly() {
			s.send(newElem(nsClient, "message", "from", r.bare, "to", m.jid.String(), "id", newID()).add(f.clone()))
		}
	}
	return nil
}
