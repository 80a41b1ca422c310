package muc

import (
	"fmt"

	"mellium.im/xmpp/jid"

	"cusax.dev/bridge/store"
)

// handleRoomMessage handles messages to the room's bare JID: groupchat,
// subject changes, mediated invitations (XEP-0045 7.8.2), declines and voice
// requests (7.13).
func (s *Service) handleRoomMessage(r *room, in *element, from jid.JID) *stanzaError {
	sender := r.byJID[from.String()]
	typ := in.attr("type")
	if typ != "groupchat" {
		if x := in.child(NSMUCUser, "x"); x != nil {
			if inv := x.child("", "invite"); inv != nil {
				return s.invite(r, sender, from, inv, x)
			}
			if dec := x.child("", "decline"); dec != nil {
				return s.decline(r, from, dec)
			}
		}
		if f := in.child(nsData, "x"); f != nil && formType(f) == nsRequest {
			if sender == nil {
				return errNotAcceptable("only occupants may request voice")
			}
			return s.voiceRequest(r, sender, f)
		}
		return errNotAcceptable("only groupchat messages, invitations and voice requests go to a room")
	}
	if sender == nil {
		return errNotAcceptable("only occupants may send groupchat messages")
	}
	body := in.child("", "body")
	subj := in.child("", "subject")
	if subj != nil && body == nil {
		if !r.mayChangeSubject(sender) {
			return errForbidden("you may not change the subject of this room")
		}
		r.subject, r.subjectBy = subj.text(), sender.nick
		if r.cfg.Persistent {
			if serr := s.persistRoom(r); serr != nil {
				return serr
			}
		}
		return s.broadcastMessage(r, sender, in, false)
	}
	if sender.role.rank() < RoleParticipant.rank() {
		return errForbidden("visitors have no voice in this room")
	}
	if serr := s.broadcastMessage(r, sender, in, true); serr != nil {
		return serr
	}
	if body != nil {
		s.emit(Event{Kind: EventMessage, Room: r.name, Nick: sender.nick, JID: sender.bare, Body: body.text()})
	}
	return nil
}

// maxRelayed bounds one relayed groupchat message as written on the link.
// The server refuses an oversized stanza from the component by closing the
// link, which would throw every occupant of every room out: a message that
// would be written larger (escaping can grow text) is refused to its
// sender instead. It is the size of the largest stanza a client may send
// to Prosody by default (c2s_stanza_size_limit).
const maxRelayed = 256 << 10

// maxJIDLen is the longest JID (RFC 7622: three parts of at most 1023
// bytes and their separators).
const maxJIDLen = 3*1023 + 2

// broadcastMessage reflects a groupchat message to every real occupant,
// the sender included (the echo is how clients confirm delivery), with a
// XEP-0359 stanza-id and a XEP-0421 occupant-id the room vouches for. A
// message too large to relay safely is refused (policy-violation).
func (s *Service) broadcastMessage(r *room, sender *occupant, in *element, history bool) *stanzaError {
	msg := newElem(nsClient, "message", "from", r.bare+"/"+sender.nick, "type", "groupchat", "id", in.attr("id"))
	for _, a := range in.Attr {
		if a.Name.Local == "lang" && a.Name.Space != "" {
			msg.Attr = append(msg.Attr, a)
		}
	}
	for _, c := range in.children() {
		// Never relay ids, occupant-ids or MUC payloads a client made up.
		// Nor XEP-0033 addresses or recipient lists: on the multicast
		// path the server reads them (multicast.go).
		if c.Name.Space == nsStanzaID || c.Name.Space == nsOccupantID || c.Name.Space == NSMUCUser || c.Name.Space == NSAddress || c.Name.Space == NSList || c.Name.Local == "error" {
			continue
		}
		msg.add(c.clone())
	}
	msg.add(newElem(nsStanzaID, "stanza-id", "id", newID(), "by", r.bare))
	if sender.id != "" {
		msg.add(newElem(nsOccupantID, "occupant-id", "id", sender.id))
	}
	// The longest form a copy takes: with the longest occupant JID as to.
	if size := len(msg.appendXML(nil)) + len(" to=''") + maxJIDLen; size > maxRelayed {
		return &stanzaError{"modify", "policy-violation", fmt.Sprintf("the message is too large to relay (%d bytes written, at most %d)", size, maxRelayed)}
	}
	s.fanOut(r, msg)
	if history {
		s.addHistory(r, msg)
	}
	return nil
}

// fanOut sends msg (without a to) to every real occupant. The copies share
// msg's children, which nothing changes once queued; only the top element,
// whose to differs, is copied. Occupants at a domain whose server takes
// multicast get one stanza for all of them (multicast.go), which names
// the room's list of them when the server keeps lists; only a message to
// every real occupant may come here, since the list is compared with
// what the server holds, a subset would replace it.
func (s *Service) fanOut(r *room, msg *element) {
	var groups map[string][]string // domain → JIDs, for multicast
	var order []string             // domains in order of first appearance
	for _, v := range r.occupantsSorted() {
		if v.audioOnly() {
			continue
		}
		if d := v.jid.Domainpart(); s.multicastTo(d) {
			if groups == nil {
				groups = map[string][]string{}
			}
			if _, ok := groups[d]; !ok {
				order = append(order, d)
			}
			groups[d] = append(groups[d], v.jid.String())
			continue
		}
		s.send(copyTo(msg, v.jid.String()))
	}
	for _, d := range order {
		if jids := groups[d]; len(jids) >= 2 {
			s.sendMulticast(msg, r.bare, d, jids)
		} else {
			s.send(copyTo(msg, jids[0]))
		}
	}
}

// handlePrivateMessage relays a message to one occupant, per
// muc#roomconfig_allowpm (XEP-0045 7.5).
func (s *Service) handlePrivateMessage(r *room, in *element, from jid.JID, nick string) *stanzaError {
	sender := r.byJID[from.String()]
	if sender == nil {
		return errNotAcceptable("only occupants may send private messages")
	}
	if in.attr("type") == "groupchat" {
		return errBadRequest("groupchat messages go to the room, not to an occupant")
	}
	_, key, err := enforceNick(nick)
	if err != nil {
		return errJIDMalformed(err.Error())
	}
	target := r.occ[key]
	if target == nil {
		return errItemNotFound("no occupant with that nick")
	}
	switch r.cfg.AllowPM {
	case "none":
		return errForbidden("private messages are disabled in this room")
	case "moderators":
		if sender.role != RoleModerator {
			return errForbidden("only moderators may send private messages here")
		}
	case "participants":
		if sender.role.rank() < RoleParticipant.rank() {
			return errForbidden("only participants may send private messages here")
		}
	}
	body := in.child("", "body")
	if target.audioOnly() {
		if body == nil {
			return nil
		}
		s.emit(Event{Kind: EventMessage, Room: r.name, Nick: sender.nick, JID: sender.bare, Body: body.text(), ToNick: target.nick})
		return nil
	}
	msg := newElem(nsClient, "message", "from", r.bare+"/"+sender.nick, "to", target.jid.String(), "type", in.attr("type"), "id", in.attr("id"))
	for _, c := range in.children() {
		if c.Name.Space == NSMUCUser || c.Name.Space == nsOccupantID || c.Name.Local == "error" {
			continue
		}
		msg.add(c.clone())
	}
	msg.add(newElem(NSMUCUser, "x"))
	if sender.id != "" {
		msg.add(newElem(nsOccupantID, "occupant-id", "id", sender.id))
	}
	s.send(msg)
	return nil
}

// invite forwards a mediated invitation (XEP-0045 7.8.2).
func (s *Service) invite(r *room, sender *occupant, from jid.JID, inv, x *element) *stanzaError {
	if sender == nil {
		return errNotAcceptable("only occupants may invite")
	}
	aff := r.affiliation(sender.bare)
	if !r.cfg.AllowInvites && sender.role != RoleModerator && affRank(aff) < affRank(store.AffiliationAdmin) {
		return errForbidden("invitations are not allowed in this room")
	}
	to, err := jid.Parse(inv.attr("to"))
	if err != nil || inv.attr("to") == "" {
		return errJIDMalformed("the invitation needs a valid to JID")
	}
	ux := newElem(NSMUCUser, "x")
	out := newElem(NSMUCUser, "invite", "from", from.String())
	if reason := inv.child("", "reason"); reason != nil {
		out.add(newElem(NSMUCUser, "reason").withText(reason.text()))
	}
	ux.add(out)
	if r.cfg.PasswordProtected {
		ux.add(newElem(NSMUCUser, "password").withText(r.cfg.Password))
	}
	msg := newElem(nsClient, "message", "from", r.bare, "to", to.String(), "id", newID())
	msg.add(ux)
	s.send(msg)
	return nil
}

// decline forwards an invitee's refusal to the inviter.
func (s *Service) decline(r *room, from jid.JID, dec *element) *stanzaError {
	to, err := jid.Parse(dec.attr("to"))
	if err != nil || dec.attr("to") == "" {
		return errJIDMalformed("the decline needs a valid to JID")
	}
	out := newElem(NSMUCUser, "decline", "from", from.Bare().String())
	if reason := dec.child("", "reason"); reason != nil {
		out.add(newElem(NSMUCUser, "reason").withText(reason.text()))
	}
	msg := newElem(nsClient, "message", "from", r.bare, "to", to.String(), "id", newID())
	msg.add(newElem(NSMUCUser, "x").add(out))
	s.send(msg)
	return nil
}
