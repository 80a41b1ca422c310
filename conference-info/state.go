package confinfo

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Config configures a State.
type Config struct {
	// Entity is the conference URI, the entity attribute of every
	// document (e.g. sip:standup@example.test).
	Entity string
	// History is how many past versions Partial can start from.
	// Default 64; a watcher further behind gets a full document.
	History int
}

// Errors of State. Each is wrapped with details; test with errors.Is.
var (
	// ErrExists: the user, endpoint or media is already there.
	ErrExists = errors.New("already exists")
	// ErrNotFound: no user, endpoint or media with that key.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a key is empty or duplicated, or an update changed a key.
	ErrInvalid = errors.New("invalid")
	// ErrUnknownVersion: Partial was asked for a version the State no
	// longer (or never) had; send Full instead.
	ErrUnknownVersion = errors.New("unknown version")
	// ErrUpToDate: Partial was asked for the current version; there is
	// nothing to send.
	ErrUpToDate = errors.New("no change since that version")
)

// State is the conference-info of one conference as the focus keeps it:
// every change makes a new version, and any recent version can be brought
// up to date with one partial document. Users are kept sorted by entity,
// endpoints by entity and media by id, so documents are deterministic.
// Conference-state user-count is kept equal to the number of users.
//
// A State is safe for concurrent use. Documents it returns are deep copies
// the caller may keep or change.
type State struct {
	mu     sync.Mutex
	entity string
	keep   int
	cur    snapshot
	// hist holds the snapshots before cur, oldest first, with
	// consecutive versions ending at cur.version-1.
	hist []snapshot
}

// snapshot is one version. Everything it points to is immutable once the
// snapshot is committed: changes copy the users slice and replace the
// changed user, so a snapshot costs one pointer per user.
type snapshot struct {
	version uint32
	desc    *Description
	host    *HostInfo
	active  *bool
	locked  *bool
	users   []*User
}

// NewState returns the state of a conference with no users, at version 0.
func NewState(cfg Config) *State {
	keep := cfg.History
	if keep <= 0 {
		keep = 64
	}
	return &State{entity: cfg.Entity, keep: keep}
}

// Version is the current version: the number of changes made so far.
func (s *State) Version() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.version
}

// commit makes next the current snapshot, keeping the old one for Partial.
func (s *State) commit(next snapshot) {
	next.version = s.cur.version + 1
	s.hist = append(s.hist, s.cur)
	if len(s.hist) > s.keep {
		n := copy(s.hist, s.hist[len(s.hist)-s.keep:])
		clear(s.hist[n:])
		s.hist = s.hist[:n]
	}
	s.cur = next
}

// SetDescription replaces the conference description. Use NewDescription
// for the usual one (conf-uris with the SIP URI, the grouptextchat
// service-uri).
func (s *State) SetDescription(d Description) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nd := d.clone()
	for _, u := range []*URIs{nd.ConfURIs, nd.ServiceURIs} {
		if u != nil {
			u.State = ""
		}
	}
	if reflect.DeepEqual(nd, s.cur.desc) {
		return
	}
	next := s.cur
	next.desc = nd
	s.commit(next)
}

// SetHostInfo replaces the host-info; nil removes it.
func (s *State) SetHostInfo(h *HostInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nh := h.clone()
	if nh != nil && nh.URIs != nil {
		nh.URIs.State = ""
	}
	if reflect.DeepEqual(nh, s.cur.host) {
		return
	}
	next := s.cur
	next.host = nh
	s.commit(next)
}

// SetActive sets conference-state/active: whether the conference is
// running (RFC 4575).
func (s *State) SetActive(active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.active != nil && *s.cur.active == active {
		return
	}
	next := s.cur
	next.active = &active
	s.commit(next)
}

// SetLocked sets conference-state/locked: whether new users may join
// (RFC 4575).
func (s *State) SetLocked(locked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.locked != nil && *s.cur.locked == locked {
		return
	}
	next := s.cur
	next.locked = &locked
	s.commit(next)
}

// User returns a copy of the user with that entity.
func (s *State) User(entity string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.find(entity)
	if !ok {
		return User{}, false
	}
	return s.cur.users[i].Clone(), true
}

// Users returns copies of all users, sorted by entity.
func (s *State) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.cur.users))
	for i, u := range s.cur.users {
		out[i] = u.Clone()
	}
	return out
}

func (s *State) find(entity string) (int, bool) {
	return slices.BinarySearchFunc(s.cur.users, entity, func(u *User, e string) int {
		return strings.Compare(u.Entity, e)
	})
}

// AddUser adds a user; a user with the same entity must not exist.
func (s *State) AddUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	nu := u.Clone()
	if err := normalizeUser(&nu); err != nil {
		return err
	}
	i, ok := s.find(nu.Entity)
	if ok {
		return fmt.Errorf("confinfo: add user %s: %w", nu.Entity, ErrExists)
	}
	next := s.cur
	next.users = slices.Insert(slices.Clip(s.cur.users), i, &nu)
	s.commit(next)
	return nil
}

// PutUser adds the user, or replaces the one with the same entity.
func (s *State) PutUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	nu := u.Clone()
	if err := normalizeUser(&nu); err != nil {
		return err
	}
	i, ok := s.find(nu.Entity)
	next := s.cur
	if ok {
		if reflect.DeepEqual(&nu, s.cur.users[i]) {
			return nil
		}
		next.users = slices.Clone(s.cur.users)
		next.users[i] = &nu
	} else {
		next.users = slices.Insert(slices.Clip(s.cur.users), i, &nu)
	}
	s.commit(next)
	return nil
}

// RemoveUser removes the user with that entity.
func (s *State) RemoveUser(entity string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.find(entity)
	if !ok {
		return fmt.Errorf("confinfo: remove user %s: %w", entity, ErrNotFound)
	}
	next := s.cur
	next.users = slices.Delete(slices.Clone(s.cur.users), i, i+1)
	s.commit(next)
	return nil
}

// UpdateUser changes the user with that entity: fn gets a copy to change.
// Nothing happens (and the version stays) if fn changes nothing; fn may not
// change the entity. fn runs under the State's lock: it must not call s.
func (s *State) UpdateUser(entity string, fn func(*User)) error {
	return s.updateUser("update user", entity, func(u *User) error {
		fn(u)
		return nil
	})
}

// updateUser runs fn on a copy of the user and commits the result.
func (s *State) updateUser(op, entity string, fn func(*User) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.find(entity)
	if !ok {
		return fmt.Errorf("confinfo: %s: user %s: %w", op, entity, ErrNotFound)
	}
	nu := s.cur.users[i].Clone()
	if err := fn(&nu); err != nil {
		return fmt.Errorf("confinfo: %s: user %s: %w", op, entity, err)
	}
	if nu.Entity != entity {
		return fmt.Errorf("confinfo: %s: entity changed from %s to %s: %w", op, entity, nu.Entity, ErrInvalid)
	}
	if err := normalizeUser(&nu); err != nil {
		return err
	}
	if reflect.DeepEqual(&nu, s.cur.users[i]) {
		return nil
	}
	next := s.cur
	next.users = slices.Clone(s.cur.users)
	next.users[i] = &nu
	s.commit(next)
	return nil
}

func findEndpoint(u *User, entity string) int {
	return slices.IndexFunc(u.Endpoints, func(e Endpoint) bool { return e.Entity == entity })
}

func findMedia(e *Endpoint, id string) int {
	return slices.IndexFunc(e.Media, func(m Media) bool { return m.ID == id })
}

// AddEndpoint adds an endpoint (a call leg) to a user.
func (s *State) AddEndpoint(user string, e Endpoint) error {
	return s.updateUser("add endpoint", user, func(u *User) error {
		if findEndpoint(u, e.Entity) >= 0 {
			return fmt.Errorf("endpoint %s: %w", e.Entity, ErrExists)
		}
		u.Endpoints = append(u.Endpoints, e.Clone())
		return nil
	})
}

// UpdateEndpoint changes an endpoint of a user: fn gets a copy to change
// and may not change its entity. fn must not call s.
func (s *State) UpdateEndpoint(user, endpoint string, fn func(*Endpoint)) error {
	return s.updateUser("update endpoint", user, func(u *User) error {
		i := findEndpoint(u, endpoint)
		if i < 0 {
			return fmt.Errorf("endpoint %s: %w", endpoint, ErrNotFound)
		}
		fn(&u.Endpoints[i])
		if u.Endpoints[i].Entity != endpoint {
			return fmt.Errorf("endpoint entity changed from %s to %s: %w", endpoint, u.Endpoints[i].Entity, ErrInvalid)
		}
		return nil
	})
}

// RemoveEndpoint removes an endpoint from a user. The user stays, as a
// user without an audio endpoint.
func (s *State) RemoveEndpoint(user, endpoint string) error {
	return s.updateUser("remove endpoint", user, func(u *User) error {
		i := findEndpoint(u, endpoint)
		if i < 0 {
			return fmt.Errorf("endpoint %s: %w", endpoint, ErrNotFound)
		}
		u.Endpoints = slices.Delete(u.Endpoints, i, i+1)
		return nil
	})
}

// AddMedia adds a media stream to an endpoint.
func (s *State) AddMedia(user, endpoint string, m Media) error {
	return s.updateUser("add media", user, func(u *User) error {
		i := findEndpoint(u, endpoint)
		if i < 0 {
			return fmt.Errorf("endpoint %s: %w", endpoint, ErrNotFound)
		}
		if findMedia(&u.Endpoints[i], m.ID) >= 0 {
			return fmt.Errorf("media %s: %w", m.ID, ErrExists)
		}
		u.Endpoints[i].Media = append(u.Endpoints[i].Media, m.clone())
		return nil
	})
}

// UpdateMedia changes a media stream: fn gets a copy to change and may not
// change its id. fn must not call s.
func (s *State) UpdateMedia(user, endpoint, id string, fn func(*Media)) error {
	return s.updateUser("update media", user, func(u *User) error {
		i := findEndpoint(u, endpoint)
		if i < 0 {
			return fmt.Errorf("endpoint %s: %w", endpoint, ErrNotFound)
		}
		j := findMedia(&u.Endpoints[i], id)
		if j < 0 {
			return fmt.Errorf("media %s: %w", id, ErrNotFound)
		}
		fn(&u.Endpoints[i].Media[j])
		if u.Endpoints[i].Media[j].ID != id {
			return fmt.Errorf("media id changed from %s to %s: %w", id, u.Endpoints[i].Media[j].ID, ErrInvalid)
		}
		return nil
	})
}

// RemoveMedia removes a media stream from an endpoint.
func (s *State) RemoveMedia(user, endpoint, id string) error {
	return s.updateUser("remove media", user, func(u *User) error {
		i := findEndpoint(u, endpoint)
		if i < 0 {
			return fmt.Errorf("endpoint %s: %w", endpoint, ErrNotFound)
		}
		j := findMedia(&u.Endpoints[i], id)
		if j < 0 {
			return fmt.Errorf("media %s: %w", id, ErrNotFound)
		}
		u.Endpoints[i].Media = slices.Delete(u.Endpoints[i].Media, j, j+1)
		return nil
	})
}

// normalizeUser checks the keys of a user about to be stored, clears the
// state attributes (stored users are whole) and sorts endpoints and media
// so documents come out in one order.
func normalizeUser(u *User) error {
	if u.Entity == "" {
		return fmt.Errorf("confinfo: user without entity: %w", ErrInvalid)
	}
	u.State = ""
	if u.AssociatedAORs != nil {
		u.AssociatedAORs.State = ""
	}
	slices.SortStableFunc(u.Endpoints, func(a, b Endpoint) int { return strings.Compare(a.Entity, b.Entity) })
	for i := range u.Endpoints {
		e := &u.Endpoints[i]
		if e.Entity == "" {
			return fmt.Errorf("confinfo: user %s: endpoint without entity: %w", u.Entity, ErrInvalid)
		}
		if i > 0 && u.Endpoints[i-1].Entity == e.Entity {
			return fmt.Errorf("confinfo: user %s: endpoint %s twice: %w", u.Entity, e.Entity, ErrInvalid)
		}
		e.State = ""
		slices.SortStableFunc(e.Media, func(a, b Media) int { return strings.Compare(a.ID, b.ID) })
		for j := range e.Media {
			if e.Media[j].ID == "" {
				return fmt.Errorf("confinfo: endpoint %s: media without id: %w", e.Entity, ErrInvalid)
			}
			if j > 0 && e.Media[j-1].ID == e.Media[j].ID {
				return fmt.Errorf("confinfo: endpoint %s: media %s twice: %w", e.Entity, e.Media[j].ID, ErrInvalid)
			}
		}
	}
	return nil
}

// Full returns the whole conference-info document of the current version,
// its version attribute set to Version().
func (s *State) Full() *Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fullLocked()
}

func (s *State) fullLocked() *Info {
	doc := &Info{
		Entity:          s.entity,
		State:           StateFull,
		Version:         s.cur.version,
		Description:     s.cur.desc.clone(),
		HostInfo:        s.cur.host.clone(),
		ConferenceState: s.cur.confState(),
		Users:           &Users{User: make([]User, len(s.cur.users))},
	}
	for i, u := range s.cur.users {
		doc.Users.User[i] = u.Clone()
	}
	return doc
}

func (sn *snapshot) confState() *ConferenceState {
	n := uint32(len(sn.users))
	return &ConferenceState{UserCount: &n, Active: clonePtr(sn.active), Locked: clonePtr(sn.locked)}
}

// Partial returns the partial document that brings a copy at version since
// up to the current version, whatever number of changes happened in
// between; its version attribute is since+1, the next one the holder of
// that copy accepts. When one document goes out per change (since ==
// Version()-1) this is the usual RFC 4575 partial notification. A watcher
// that skipped versions must be numbered by its own subscription: see
// Subscription and Next.
//
// Some changes cannot be expressed in a partial document (RFC 4575 gives
// no way to clear a description field or drop an available-media entry);
// then the document returned is a full one, still numbered since+1.
//
// It fails with ErrUpToDate when since is the current version and with
// ErrUnknownVersion when since is newer than the current version or older
// than the history kept.
func (s *State) Partial(since uint32) (*Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.at(since)
	if err != nil {
		return nil, err
	}
	doc := s.diff(old)
	doc.Version = since + 1
	return doc, nil
}

// at returns the snapshot of version v.
func (s *State) at(v uint32) (*snapshot, error) {
	if v == s.cur.version {
		return nil, fmt.Errorf("confinfo: partial since version %d: %w", v, ErrUpToDate)
	}
	back := s.cur.version - v // wraps to a huge number when v is ahead
	if back == 0 || back > uint32(len(s.hist)) {
		return nil, fmt.Errorf("confinfo: partial since version %d, have versions %d to %d: %w",
			v, s.cur.version-uint32(len(s.hist)), s.cur.version, ErrUnknownVersion)
	}
	return &s.hist[len(s.hist)-int(back)], nil
}
