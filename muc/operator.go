package muc

import (
	"context"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"

	"cusax.dev/bridge/store"
)

// This file holds the commands an operator's action needs beyond the ones
// sync already uses (commands.go): a ban, the end of a room and its limit,
// taken as the room itself, so every occupant sees what an owner's muc#admin or
// muc#owner request would have shown (301 for a ban, <destroy/> for the
// end) and sync hangs up the calls from the same events.

// SetAffiliation records bareJID's affiliation with room as the room itself
// (no actor), with the effects of an admin's muc#admin request: an outcast
// is removed with status 301 and later joins and calls are refused.
func (s *Service) SetAffiliation(ctx context.Context, roomName, bareJID string, a store.Affiliation, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !a.Valid() {
		return fmt.Errorf("muc: setting affiliation %q: not an affiliation", a)
	}
	j, err := jid.Parse(bareJID)
	if err != nil || bareJID == "" {
		return fmt.Errorf("muc: setting an affiliation: want a bare JID, got %q", bareJID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[roomName]
	if r == nil {
		return fmt.Errorf("affiliation in %q: %w", roomName, ErrNoRoom)
	}
	bare := strings.ToLower(j.Bare().String())
	if r.affiliation(bare) == store.AffiliationOwner && a != store.AffiliationOwner && r.ownerCount() == 1 {
		return fmt.Errorf("muc: %s is the room's last owner: a room keeps at least one owner", bare)
	}
	if serr := s.setAffiliation(r, bare, a, "", reason, ""); serr != nil {
		return fmt.Errorf("muc: setting the affiliation of %s in %q: %s", bare, roomName, serr.text)
	}
	return nil
}

// DestroyRoom ends a room as its owner would (XEP-0045 10.9): occupants
// get unavailable presence with <destroy/> and reason, the stored record
// goes, and sync hangs up the room's calls on EventRoomDestroyed.
func (s *Service) DestroyRoom(ctx context.Context, roomName, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[roomName]
	if r == nil {
		return fmt.Errorf("destroying %q: %w", roomName, ErrNoRoom)
	}
	if serr := s.destroy(r, "", reason, nil, ""); serr != nil {
		return fmt.Errorf("muc: destroying %q: %s", roomName, serr.text)
	}
	return nil
}

// SetMaxUsers sets the room's muc#roomconfig_maxusers (0: no limit) as
// its owner's configuration form would: stored first for a persistent
// room, status 104 to the occupants, EventRoomConfigured to sync. Who is
// already in stays; the limit holds for the next joins and calls.
func (s *Service) SetMaxUsers(ctx context.Context, roomName string, limit int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if limit < 0 {
		return fmt.Errorf("muc: maximum occupants of %q: want 0 (no limit) or more, got %d", roomName, limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[roomName]
	if r == nil {
		return fmt.Errorf("configuring %q: %w", roomName, ErrNoRoom)
	}
	cfg := r.cfg
	cfg.MaxUsers = limit
	if serr := s.configure(r, cfg, ""); serr != nil {
		return fmt.Errorf("muc: configuring %q: %s", roomName, serr.text)
	}
	return nil
}

func (r *room) ownerCount() int {
	n := 0
	for _, e := range r.affs {
		if e.Affiliation == store.AffiliationOwner {
			n++
		}
	}
	return n
}
