package muc

import (
	"context"
	"fmt"
	"strings"

	"cusax.dev/bridge/store"
)

// This file holds the two commands package sync needs beyond commands.go
// (issue 7): reading one JID's affiliation when a call is admitted, and
// showing a chat occupant's phone leg in its own presence.

// Affiliation returns bareJID's affiliation with room, so sync can refuse
// the INVITE of a banned person (403) and enforce members-only on calls.
// A room the service does not hold gives ErrNoRoom.
func (s *Service) Affiliation(room, bareJID string) (store.Affiliation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return store.AffiliationNone, fmt.Errorf("affiliation in %q: %w", room, ErrNoRoom)
	}
	return r.affiliation(strings.ToLower(bareJID)), nil
}

// SetOccupantAudio shows a chat occupant's own phone leg in its presence
// (DESIGN.md, "bound caller joins / leaves"): a <phone
// xmlns='urn:cusax:bridge:0'/> element with the leg's mute, hold and
// talking state is added to the occupant's presence and broadcast; nil
// removes it. The client's own show and status are left alone, and the
// element stays through the client's later presence updates.
func (s *Service) SetOccupantAudio(ctx context.Context, roomName, nick string, p *PhonePresence) error {
	return s.onOccupant(ctx, roomName, nick, func(r *room, o *occupant) error {
		if o.audioOnly() {
			return fmt.Errorf("occupant audio of phone leg %q: %w", nick, ErrNotAudio)
		}
		o.inAudio = nil
		if p != nil {
			els := p.elements()
			o.inAudio = els[len(els)-1] // only the <phone/> element
		}
		s.broadcastPresence(r, o, presenceItem{})
		return nil
	})
}

// SendOccupantMessage posts a groupchat message as an audio-only occupant
// (a SIP MESSAGE from a phone without XMPP, RFC 3428), so the room reads it
// from the phone's nick like any other occupant's message. It is not
// reported back as an EventMessage: sync wrote it.
func (s *Service) SendOccupantMessage(ctx context.Context, roomName, nick, body string) error {
	return s.onOccupant(ctx, roomName, nick, func(r *room, o *occupant) error {
		if !o.audioOnly() {
			return fmt.Errorf("message as %q: %w", nick, ErrNotAudio)
		}
		in := newElem(nsClient, "message", "type", "groupchat", "id", newID())
		in.add(newElem(nsClient, "body").withText(body))
		if serr := s.broadcastMessage(r, o, in, true); serr != nil {
			return fmt.Errorf("message as %q: %s", nick, serr.text)
		}
		return nil
	})
}
