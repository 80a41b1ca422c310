package muc

import (
	"context"
	"fmt"

	"cusax.dev/bridge/store"
)

// persistRoom writes the room record; it runs before the change is
// acknowledged to anyone, so an acknowledged change survives a crash.
func (s *Service) persistRoom(r *room) *stanzaError {
	if s.cfg.Store == nil {
		return nil
	}
	ctx, cancel := storeCtx()
	defer cancel()
	if err := s.cfg.Store.PutRoom(ctx, r.record()); err != nil {
		s.log.Error("saving a room", "room", r.name, "err", err)
		return errInternal("the room could not be saved")
	}
	r.persisted = true
	return nil
}

// persistRoomAll writes the room and every affiliation (a room that just
// became persistent).
func (s *Service) persistRoomAll(r *room) *stanzaError {
	if serr := s.persistRoom(r); serr != nil {
		return serr
	}
	if s.cfg.Store == nil {
		return nil
	}
	ctx, cancel := storeCtx()
	defer cancel()
	for _, e := range r.affs {
		if err := s.cfg.Store.SetAffiliation(ctx, r.name, e); err != nil {
			s.log.Error("saving an affiliation", "room", r.name, "jid", e.JID, "err", err)
			return errInternal("the room's affiliations could not be saved")
		}
	}
	return nil
}

// persistAffiliation writes one affiliation of a persistent room.
func (s *Service) persistAffiliation(r *room, e store.AffiliationEntry) *stanzaError {
	if s.cfg.Store == nil || !r.cfg.Persistent {
		return nil
	}
	ctx, cancel := storeCtx()
	defer cancel()
	if err := s.cfg.Store.SetAffiliation(ctx, r.name, e); err != nil {
		s.log.Error("saving an affiliation", "room", r.name, "jid", e.JID, "err", err)
		return errInternal("the affiliation could not be saved")
	}
	return nil
}

// load restores persistent rooms from the store (once per process).
func (s *Service) load(ctx context.Context) error {
	if s.cfg.Store == nil || s.loaded.Load() {
		return nil
	}
	return s.readStore(ctx, false)
}

// reload replaces every room in memory with the store's persistent rooms:
// a node taking the component link over from another must serve what that
// node saved (configuration, affiliations, bans), not what it loaded at its
// own start, and the occupants it remembers from an earlier turn as holder
// are gone from the server's view.
func (s *Service) reload(ctx context.Context) error {
	if s.cfg.Store == nil {
		return nil
	}
	return s.readStore(ctx, true)
}

func (s *Service) readStore(ctx context.Context, replace bool) error {
	rooms, err := s.cfg.Store.ListRooms(ctx)
	if err != nil {
		return fmt.Errorf("muc: loading rooms from the store: %w", err)
	}
	loaded := map[string]*room{}
	for _, rec := range rooms {
		affs, err := s.cfg.Store.Affiliations(ctx, rec.Name)
		if err != nil {
			return fmt.Errorf("muc: loading affiliations of room %q: %w", rec.Name, err)
		}
		r := newRoom(rec.Name, s.domain, rec.Config, rec.Created)
		r.subject, r.subjectBy, r.persisted = rec.Subject, rec.SubjectBy, true
		for _, e := range affs {
			r.affs[e.JID] = e
		}
		loaded[rec.Name] = r
	}
	s.mu.Lock()
	if replace {
		clear(s.rooms)
	}
	for name, r := range loaded {
		if _, exists := s.rooms[name]; !exists {
			s.rooms[name] = r
		}
	}
	s.updateGauges()
	s.mu.Unlock()
	s.loaded.Store(true)
	s.log.Info("rooms loaded from the store", "rooms", len(loaded))
	return nil
}
