package muc

import (
	"strings"
	"time"

	"mellium.im/xmpp/jid"
)

// handle applies one stanza from the link. Bad input gets the matching
// stanza error (when the sender may be answered) and changes nothing; the
// service never panics on it.
func (s *Service) handle(in *element) { s.handleArrived(in, s.now()) }

// handleArrived applies a stanza that reached the component at arrived;
// events it causes carry that time.
func (s *Service) handleArrived(in *element, arrived time.Time) {
	kind := in.Name.Local
	if kind != "iq" && kind != "message" && kind != "presence" {
		s.log.Debug("ignoring a non-stanza element", "element", kind)
		return
	}
	s.m.stanzasIn.WithLabelValues(kind).Inc()
	typ := in.attr("type")
	from, err := jid.Parse(in.attr("from"))
	if err != nil || from.Domainpart() == "" {
		// The server always stamps from; without it there is nobody to answer.
		s.log.Debug("dropping a stanza without a valid from", "from", in.attr("from"), "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.arrived, s.sender = arrived, from.Bare().String()
	defer func() { s.arrived, s.sender = time.Time{}, "" }()
	if kind == "iq" && (typ == "result" || typ == "error") && s.vcardReply(in, from) {
		return
	}
	if kind == "iq" && (typ == "result" || typ == "error") && s.relayIQReply(in, from) {
		return
	}
	if kind == "iq" && (typ == "result" || typ == "error") && s.multicastDiscoReply(in, from) {
		return
	}
	if kind == "message" && typ == "error" && s.multicastBounce(in, from) {
		return
	}
	if typ == "error" {
		s.handleBounce(in, from)
		return
	}
	if in.attr("to") == "" {
		// RFC 6120 8.1.1.1: no to means the entity the stream is with.
		in.setAttr("to", s.domain)
	}
	to, err := jid.Parse(in.attr("to"))
	if err != nil {
		in.setAttr("to", s.domain) // answer from ourselves, not from garbage
		s.replyError(in, errJIDMalformed("the to address is not a valid JID"))
		return
	}
	// Answer from the canonical form of the address we were sent to.
	in.setAttr("to", to.String())
	if !strings.EqualFold(to.Domainpart(), s.domain) {
		in.setAttr("to", s.domain)
		s.replyError(in, errServiceUnavailable("this component serves "+s.domain+" only"))
		return
	}
	var serr *stanzaError
	switch {
	case to.Localpart() == "" && to.Resourcepart() == "":
		serr = s.handleService(in, from)
	case to.Localpart() == "":
		serr = errServiceUnavailable("")
	case to.Resourcepart() == "":
		serr = s.handleRoom(in, from, to)
	default:
		serr = s.handleOccupant(in, from, to)
	}
	if serr != nil {
		s.replyError(in, serr)
	}
}

// replyError answers in with e, unless in is itself a reply (an IQ result or
// an error), which must never be answered (RFC 6120 8.3.1).
func (s *Service) replyError(in *element, e *stanzaError) {
	t := in.attr("type")
	if t == "error" || (in.Name.Local == "iq" && t == "result") {
		return
	}
	if in.Name.Local == "presence" && t == "unavailable" {
		return
	}
	s.m.errors.WithLabelValues(e.cond).Inc()
	by := in.attr("to")
	if j, err := jid.Parse(by); err == nil {
		by = j.Bare().String()
	}
	s.send(errorReply(in, e, by))
}

// iqResult builds the result for iq in with an optional payload.
func iqResult(in *element, payload *element) *element {
	out := newElem(nsClient, "iq", "from", in.attr("to"), "to", in.attr("from"), "id", in.attr("id"), "type", "result")
	return out.add(payload)
}

// iqPayload returns the single child of an iq get/set, or a bad-request
// error when there is not exactly one (RFC 6120 8.2.3).
func iqPayload(in *element) (*element, *stanzaError) {
	t := in.attr("type")
	if t != "get" && t != "set" {
		if t == "result" {
			return nil, nil
		}
		return nil, errBadRequest("iq type must be get, set, result or error, got " + quote(t))
	}
	if in.attr("id") == "" {
		return nil, errBadRequest("iq needs an id")
	}
	kids := in.children()
	if len(kids) != 1 {
		return nil, errBadRequest("an iq get or set carries exactly one child")
	}
	return kids[0], nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return "\"" + s + "\""
}

// handleService answers stanzas to the service's own domain.
func (s *Service) handleService(in *element, from jid.JID) *stanzaError {
	switch in.Name.Local {
	case "iq":
		q, serr := iqPayload(in)
		if q == nil {
			return serr
		}
		switch {
		case in.attr("type") == "get" && q.Name.Space == nsDiscoInfo && q.Name.Local == "query":
			if q.attr("node") != "" {
				return errItemNotFound("no such node")
			}
			s.send(iqResult(in, s.serviceInfo()))
			return nil
		case in.attr("type") == "get" && q.Name.Space == nsDiscoItems && q.Name.Local == "query":
			if q.attr("node") != "" {
				return errItemNotFound("no such node")
			}
			s.send(iqResult(in, s.serviceItems()))
			return nil
		case in.attr("type") == "get" && q.Name.Space == nsPing && q.Name.Local == "ping":
			s.send(iqResult(in, nil))
			return nil
		}
		return errServiceUnavailable("")
	case "message":
		return errServiceUnavailable("send messages to a room, not to the service")
	}
	return nil
}

// handleRoom answers stanzas to a room's bare JID.
func (s *Service) handleRoom(in *element, from, to jid.JID) *stanzaError {
	name := to.Localpart()
	r := s.rooms[name]
	switch in.Name.Local {
	case "presence":
		if in.attr("type") == "" {
			return errJIDMalformed("enter a room as room@service/nick; the nick is missing")
		}
		return nil
	case "message":
		if r == nil {
			return errItemNotFound("no such room")
		}
		return s.handleRoomMessage(r, in, from)
	}
	q, serr := iqPayload(in)
	if q == nil {
		return serr
	}
	get := in.attr("type") == "get"
	switch {
	case q.Name.Space == nsDiscoInfo && q.Name.Local == "query" && get:
		if r == nil {
			return errItemNotFound("no such room")
		}
		if q.attr("node") != "" {
			return errItemNotFound("no such node")
		}
		s.send(iqResult(in, s.roomInfo(r)))
		return nil
	case q.Name.Space == nsDiscoItems && q.Name.Local == "query" && get:
		if r == nil {
			return errItemNotFound("no such room")
		}
		// Occupant lists are not disclosed through disco (XEP-0045 6.5).
		s.send(iqResult(in, newElem(nsDiscoItems, "query")))
		return nil
	case q.Name.Space == nsPing && q.Name.Local == "ping" && get:
		if r == nil {
			return errItemNotFound("no such room")
		}
		s.send(iqResult(in, nil))
		return nil
	case q.Name.Space == NSMUCAdmin && q.Name.Local == "query":
		if r == nil {
			return errItemNotFound("no such room")
		}
		return s.handleAdmin(r, in, q, from)
	case q.Name.Space == NSMUCOwner && q.Name.Local == "query":
		if r == nil {
			return errItemNotFound("no such room")
		}
		return s.handleOwner(r, in, q, from)
	}
	return errServiceUnavailable("")
}

// handleOccupant answers stanzas to room@service/nick.
func (s *Service) handleOccupant(in *element, from, to jid.JID) *stanzaError {
	switch in.Name.Local {
	case "presence":
		return s.handlePresence(in, from, to)
	case "message":
		r := s.rooms[to.Localpart()]
		if r == nil {
			return errItemNotFound("no such room")
		}
		return s.handlePrivateMessage(r, in, from, to.Resourcepart())
	}
	q, serr := iqPayload(in)
	if q == nil {
		return serr
	}
	r := s.rooms[to.Localpart()]
	var sender *occupant
	if r != nil {
		sender = r.byJID[from.String()]
	}
	disco := q.Name.Space == nsDiscoInfo || q.Name.Space == nsDiscoItems
	if sender == nil {
		if disco {
			// XEP-0045 6.7: a non-occupant's disco request to an occupant.
			return errBadRequest("only occupants may query an occupant")
		}
		// XEP-0410: "not joined" is not-acceptable, which makes the client rejoin.
		return errNotAcceptable("you are not an occupant of this room")
	}
	_, key, err := enforceNick(to.Resourcepart())
	if err != nil {
		return errJIDMalformed(err.Error())
	}
	if key == sender.key {
		if q.Name.Space == nsPing && q.Name.Local == "ping" && in.attr("type") == "get" {
			// XEP-0410 self-ping: answered by the room, never forwarded.
			s.send(iqResult(in, nil))
			return nil
		}
		if !disco {
			return errServiceUnavailable("")
		}
		// A client asking about its own occupant JID (entity capabilities
		// of itself) gets its own client's answer, like anyone else's.
	}
	if t := r.occ[key]; t != nil && t.audioOnly() && disco && in.attr("type") == "get" {
		// A phone leg has no client to pass the request to: the room
		// answers for it (XEP-0045 6.7 lets the service do either).
		s.send(iqResult(in, phoneLegDisco(q)))
		return nil
	}
	if r.occ[key] == nil && q.Name.Space == nsPing {
		// A self-ping under a nick the sender does not hold.
		return errNotAcceptable("you are not joined under that nick")
	}
	return s.forwardIQ(r, in, q, sender, to.Resourcepart())
}

// handleBounce removes an occupant whose client bounced what the room sent
// it (XEP-0045 section 18.1: an error reply means the user is gone), so
// ghosts do not linger in rooms.
func (s *Service) handleBounce(in *element, from jid.JID) {
	to, err := jid.Parse(in.attr("to"))
	if err != nil || to.Localpart() == "" {
		return
	}
	r := s.rooms[to.Localpart()]
	if r == nil {
		return
	}
	o := r.byJID[from.String()]
	if o == nil {
		return
	}
	if in.Name.Local == "message" {
		cond := ""
		if e := in.child("", "error"); e != nil {
			for _, c := range e.children() {
				if c.Name.Space == nsStanzas && c.Name.Local != "text" {
					cond = c.Name.Local
				}
			}
		}
		switch cond {
		case "gone", "item-not-found", "recipient-unavailable", "redirect", "remote-server-not-found", "remote-server-timeout", "service-unavailable":
		default:
			return
		}
	}
	s.removeOccupant(r, o, presenceItem{unavailable: true, codes: []int{333}, reason: "the client bounced a stanza"}, EventLeft)
}
