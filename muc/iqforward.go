package muc

import (
	"time"

	"mellium.im/xmpp/jid"
)

// IQs between occupants (XEP-0045 section 7.2.x "IQ to an occupant"): the
// service relays them under occupant JIDs, so clients can fetch each other's
// vCard (avatars), software version or disco#info without learning real JIDs.
// The request goes out with an id of ours; the reply is matched on it, checked
// to come from whom we asked, and returned with the original id.

// pendingIQ remembers a relayed request until its reply or timeout.
type pendingIQ struct {
	id        string  // the requester's id
	requester jid.JID // the requester's real full JID
	askedBare string  // the bare JID we sent to; the reply must come from it
	from      string  // room@service/target-nick, the reply's from
	at        time.Time
}

const (
	maxPendingIQ = 10000
	iqRelayTTL   = 2 * time.Minute
)

// forwardIQ relays an iq get/set from sender to the occupant nick.
func (s *Service) forwardIQ(r *room, in, q *element, sender *occupant, nick string) *stanzaError {
	_, key, err := enforceNick(nick)
	if err != nil {
		return errJIDMalformed(err.Error())
	}
	target := r.occ[key]
	if target == nil {
		return errItemNotFound("no occupant with that nick")
	}
	if target.audioOnly() {
		return errServiceUnavailable("a phone leg answers no requests")
	}
	s.expireIQs()
	if len(s.fwd) >= maxPendingIQ {
		return &stanzaError{"wait", "resource-constraint", "too many requests in flight"}
	}
	to := target.jid
	if q.Name.Space == "vcard-temp" {
		// vCards live on the user's server, which answers for the bare JID.
		to = target.jid.Bare()
	}
	id := newID()
	s.fwd[id] = pendingIQ{id: in.attr("id"), requester: sender.jid, askedBare: to.Bare().String(), from: r.bare + "/" + target.nick, at: s.now()}
	out := in.clone()
	out.setAttr("from", r.bare+"/"+sender.nick)
	out.setAttr("to", to.String())
	out.setAttr("id", id)
	s.send(out)
	return nil
}

// relayIQReply returns a reply to a relayed request to its requester; it
// reports false when in is not such a reply.
func (s *Service) relayIQReply(in *element, from jid.JID) bool {
	p, ok := s.fwd[in.attr("id")]
	if !ok || from.Bare().String() != p.askedBare {
		return false
	}
	delete(s.fwd, in.attr("id"))
	out := in.clone()
	out.setAttr("from", p.from)
	out.setAttr("to", p.requester.String())
	out.setAttr("id", p.id)
	s.send(out)
	return true
}

func (s *Service) expireIQs() {
	if len(s.fwd) < maxPendingIQ/2 {
		return
	}
	cut := s.now().Add(-iqRelayTTL)
	for id, p := range s.fwd {
		if p.at.Before(cut) {
			delete(s.fwd, id)
		}
	}
}

// abandonIQs answers the requests still waiting on an occupant who has just
// left: its client will not answer through the room any more, and the
// requester should hear so now (recipient-unavailable, RFC 6120 8.3.3.13)
// rather than wait for a reply that never comes.
func (s *Service) abandonIQs(r *room, nick string) {
	occ := r.bare + "/" + nick
	for id, p := range s.fwd {
		if p.from != occ {
			continue
		}
		delete(s.fwd, id)
		out := newElem(nsClient, "iq", "from", occ, "to", p.requester.String(), "id", p.id, "type", "error")
		out.add((&stanzaError{"wait", "recipient-unavailable", "the occupant left before answering"}).element(r.bare))
		s.send(out)
	}
}
