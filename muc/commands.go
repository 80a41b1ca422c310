package muc

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"cusax.dev/bridge/store"
)

// Errors returned by the sync commands, for errors.Is.
var (
	ErrNoRoom     = errors.New("muc: no such room")
	ErrNoOccupant = errors.New("muc: no such occupant")
	ErrNickInUse  = errors.New("muc: nick in use")
	ErrNotAudio   = errors.New("muc: occupant is not audio-only")
	ErrBadNick    = errors.New("muc: nick not allowed")
	ErrBadRole    = errors.New("muc: invalid role")
)

// OccupantInfo is a snapshot of one occupant for sync.
type OccupantInfo struct {
	Nick        string
	JID         string // real bare JID; empty for audio-only occupants
	Role        Role
	Affiliation store.Affiliation
	AudioOnly   bool
	OccupantID  string
}

// RoomInfo is a snapshot of one room for sync and the admin API.
type RoomInfo struct {
	Name      string
	Config    store.RoomConfig
	Subject   string
	Occupants int
	// AudioVideoURI is the room's SIP conference URI (empty without a SIP domain).
	AudioVideoURI string
}

// Rooms lists every room, ordered by name.
func (s *Service) Rooms() []RoomInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RoomInfo, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, RoomInfo{Name: r.name, Config: r.cfg, Subject: r.subject, Occupants: len(r.occ), AudioVideoURI: s.audioURI(r)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Occupants lists a room's occupants, ordered by nick.
func (s *Service) Occupants(room string) ([]OccupantInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return nil, fmt.Errorf("listing occupants of %q: %w", room, ErrNoRoom)
	}
	var out []OccupantInfo
	for _, o := range r.occupantsSorted() {
		out = append(out, OccupantInfo{Nick: o.nick, JID: o.bare, Role: o.role, Affiliation: r.occAff(o), AudioOnly: o.audioOnly(), OccupantID: o.id})
	}
	return out, nil
}

func (s *Service) lookup(room, nick string) (*room, *occupant, error) {
	r := s.rooms[room]
	if r == nil {
		return nil, nil, fmt.Errorf("room %q: %w", room, ErrNoRoom)
	}
	_, key, err := enforceNick(nick)
	if err != nil {
		return r, nil, fmt.Errorf("%w: %w", ErrBadNick, err)
	}
	o := r.occ[key]
	if o == nil {
		return r, nil, fmt.Errorf("nick %q in room %q: %w", nick, room, ErrNoOccupant)
	}
	return r, o, nil
}

// SetRole changes an occupant's role as the room itself (no actor nick):
// sync uses it to mirror a SIP-side mute as voice revoked, for example.
// RoleNone kicks (307).
func (s *Service) SetRole(ctx context.Context, roomName, nick string, role Role, reason string) error {
	if !role.valid() {
		return fmt.Errorf("%w: %q", ErrBadRole, role)
	}
	return s.onOccupant(ctx, roomName, nick, func(r *room, o *occupant) error {
		s.setRole(r, o, role, reason, "")
		return nil
	})
}

// Kick removes an occupant with status 307; for an audio-only occupant sync
// hangs the leg up when it sees the event.
func (s *Service) Kick(ctx context.Context, room, nick, reason string) error {
	return s.SetRole(ctx, room, nick, RoleNone, reason)
}

// AddAudioOccupant makes a phone leg appear in the room as an occupant with
// its own presence. The room is created (temporary, default configuration)
// if it does not exist, so a caller may open a conference before anyone
// chats.
func (s *Service) AddAudioOccupant(ctx context.Context, room, nick string, p PhonePresence) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n, key, err := enforceNick(nick)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadNick, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		r = newRoom(room, s.domain, s.defaultRoomConfig(), s.now())
		if r.cfg.Persistent {
			if serr := s.persistRoom(r); serr != nil {
				return fmt.Errorf("creating room %q: %w", room, serr)
			}
		}
		s.rooms[room] = r
	}
	if _, ok := r.occ[key]; ok {
		return fmt.Errorf("adding %q to %q: %w", nick, room, ErrNickInUse)
	}
	pp := p
	o := &occupant{nick: n, key: key, role: defaultRole(store.AffiliationNone, r.cfg.Moderated), phone: &pp,
		id: occupantID(s.idKey, room, "phone:"+n)}
	r.putOccupant(o)
	s.broadcastPresence(r, o, presenceItem{})
	s.updateGauges()
	s.emit(Event{Kind: EventJoined, Room: room, Nick: n, AudioOnly: true, Role: o.role, Affiliation: store.AffiliationNone})
	return nil
}

// UpdateAudioOccupant changes a phone leg's presence (mute, hold, talking).
func (s *Service) UpdateAudioOccupant(ctx context.Context, roomName, nick string, p PhonePresence) error {
	return s.onOccupant(ctx, roomName, nick, func(r *room, o *occupant) error {
		if !o.audioOnly() {
			return fmt.Errorf("updating %q: %w", nick, ErrNotAudio)
		}
		pp := p
		o.phone = &pp
		s.broadcastPresence(r, o, presenceItem{})
		return nil
	})
}

// RemoveAudioOccupant takes a phone leg out of the room (the call ended).
func (s *Service) RemoveAudioOccupant(ctx context.Context, roomName, nick, status string) error {
	return s.onOccupant(ctx, roomName, nick, func(r *room, o *occupant) error {
		if !o.audioOnly() {
			return fmt.Errorf("removing %q: %w", nick, ErrNotAudio)
		}
		o.phone = &PhonePresence{Status: status}
		s.removeOccupant(r, o, presenceItem{}, EventLeft)
		return nil
	})
}

// SendMessage posts a groupchat message as the room itself (from the
// room's bare JID), e.g. "Bob joined by phone".
func (s *Service) SendMessage(ctx context.Context, room, body string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return fmt.Errorf("sending to %q: %w", room, ErrNoRoom)
	}
	msg := newElem(nsClient, "message", "from", r.bare, "type", "groupchat", "id", newID())
	msg.add(newElem(nsClient, "body").withText(body))
	msg.add(newElem(nsStanzaID, "stanza-id", "id", newID(), "by", r.bare))
	s.fanOut(r, msg)
	s.addHistory(r, msg)
	return nil
}

// SendPrivateMessage sends a private message from the room to one chat
// occupant (a join token, for example).
func (s *Service) SendPrivateMessage(ctx context.Context, roomName, nick, body string) error {
	return s.onOccupant(ctx, roomName, nick, func(r *room, o *occupant) error {
		if o.audioOnly() {
			return fmt.Errorf("private message to phone leg %q: %w", nick, ErrNoOccupant)
		}
		msg := newElem(nsClient, "message", "from", r.bare, "to", o.jid.String(), "type", "chat", "id", newID())
		msg.add(newElem(nsClient, "body").withText(body))
		msg.add(newElem(NSMUCUser, "x"))
		s.send(msg)
		return nil
	})
}

// onOccupant runs a command on one occupant under the service's lock, once
// ctx is still live and the room and nick are known.
func (s *Service) onOccupant(ctx context.Context, room, nick string, fn func(*room, *occupant) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, o, err := s.lookup(room, nick)
	if err != nil {
		return err
	}
	return fn(r, o)
}
