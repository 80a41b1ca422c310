package muc

import (
	"slices"
	"sort"
	"strconv"
	"time"

	"mellium.im/xmpp/jid"

	"cusax.dev/bridge/store"
)

// occupant is one nick in a room: a chat user (jid set) or an audio-only
// phone leg added by sync (phone set, jid zero).
type occupant struct {
	nick, key string
	jid       jid.JID // real full JID
	bare      string
	role      Role
	pres      []*element     // the client's presence payload (show, status, caps…)
	phone     *PhonePresence // set for a phone leg (audio-only occupant)
	// inAudio is the <phone/> element of a chat user's own call, kept apart
	// from pres so the client's presence updates do not erase it.
	inAudio *element
	id      string // XEP-0421
}

func (o *occupant) audioOnly() bool { return o.phone != nil }

// room is one XEP-0045 room. Every field is guarded by Service.mu.
type room struct {
	name      string
	bare      string // room@domain
	cfg       store.RoomConfig
	subject   string
	subjectBy string
	created   time.Time
	affs      map[string]store.AffiliationEntry // by bare JID
	occ       map[string]*occupant              // by nick comparison key; change it through putOccupant, dropOccupant, clearOccupants
	sorted    []*occupant                       // occ by key, nil when stale (occupantsSorted)
	byJID     map[string]*occupant              // by real full JID
	history   []historyItem
	persisted bool // a record exists in the store
	locked    bool // reserved room awaiting its first configuration
}

func newRoom(name, domain string, cfg store.RoomConfig, now time.Time) *room {
	return &room{
		name: name, bare: name + "@" + domain, cfg: cfg, created: now,
		affs:  map[string]store.AffiliationEntry{},
		occ:   map[string]*occupant{},
		byJID: map[string]*occupant{},
	}
}

func (r *room) affiliation(bare string) store.Affiliation {
	if e, ok := r.affs[bare]; ok {
		return e.Affiliation
	}
	return store.AffiliationNone
}

func (r *room) occAff(o *occupant) store.Affiliation {
	if o.audioOnly() {
		return store.AffiliationNone
	}
	return r.affiliation(o.bare)
}

// occupantsSorted returns the occupants in a stable order (nick), so tests
// and clients see the same sequence every time.
//
// The slice is kept until the occupants change, so a room's every message
// does not sort them again; callers must not modify it. A change makes a new
// slice rather than reuse this one, so a caller ranging over it while it
// removes occupants is safe.
func (r *room) occupantsSorted() []*occupant {
	if r.sorted != nil || len(r.occ) == 0 {
		return r.sorted
	}
	out := make([]*occupant, 0, len(r.occ))
	for _, o := range r.occ {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	r.sorted = out
	return out
}

// putOccupant adds o under its key (or replaces whoever was there).
func (r *room) putOccupant(o *occupant) {
	r.occ[o.key] = o
	r.sorted = nil
}

// dropOccupant removes the occupant under key.
func (r *room) dropOccupant(key string) {
	delete(r.occ, key)
	r.sorted = nil
}

// clearOccupants removes every occupant.
func (r *room) clearOccupants() {
	r.occ = map[string]*occupant{}
	r.sorted = nil
}

// occupantsWithJID returns the chat (non-phone) occupants.
func (r *room) occupantsWithJID() []*occupant {
	var out []*occupant
	for _, o := range r.occ {
		if !o.audioOnly() {
			out = append(out, o)
		}
	}
	return out
}

func (r *room) owners() int {
	n := 0
	for _, e := range r.affs {
		if e.Affiliation == store.AffiliationOwner {
			n++
		}
	}
	return n
}

func (r *room) record() store.Room {
	return store.Room{Name: r.name, Config: r.cfg, Subject: r.subject, SubjectBy: r.subjectBy, Created: r.created}
}

// broadcastsPresenceOf reports whether presence of an occupant with role is
// sent to others (muc#roomconfig_presencebroadcast).
func (r *room) broadcastsPresenceOf(role Role) bool {
	return slices.Contains(r.cfg.PresenceBroadcast, string(role))
}

func (r *room) nonAnonymous() bool { return r.cfg.WhoIs == "anyone" }

// mayChangeSubject applies muc#roomconfig_changesubject.
func (r *room) mayChangeSubject(o *occupant) bool {
	return o.role == RoleModerator || (r.cfg.ChangeSubject && o.role.rank() >= RoleParticipant.rank())
}

// presenceItem describes the change a presence announces.
type presenceItem struct {
	unavailable bool
	codes       []int
	newNick     string // 303
	actor       string
	reason      string
	destroy     *element
}

// presenceOf builds the presence about o addressed to viewer (a real
// occupant): the occupant's own payload, the muc#user item (with the real
// JID only when the viewer may see it), status codes, the XEP-0421 id and,
// for a phone leg, the bridge extension.
func (s *Service) presenceOf(r *room, o *occupant, viewer *occupant, it presenceItem) *element {
	p := newElem(nsClient, "presence", "from", r.bare+"/"+o.nick, "to", viewer.jid.String())
	if it.unavailable {
		p.setAttr("type", "unavailable")
	} else {
		if o.audioOnly() {
			p.add(o.phone.elements()...)
		} else {
			for _, c := range o.pres {
				p.add(c.clone())
			}
			if o.inAudio != nil {
				p.add(o.inAudio.clone())
			}
		}
	}
	x := newElem(NSMUCUser, "x")
	item := newElem(NSMUCUser, "item", "affiliation", string(r.occAff(o)), "role", string(o.role))
	if it.unavailable && (hasCode(it.codes, 307) || hasCode(it.codes, 301) || hasCode(it.codes, 321) || it.destroy != nil) {
		item.setAttr("role", string(RoleNone))
	}
	if !o.audioOnly() && (viewer == o || viewer.role == RoleModerator || r.nonAnonymous()) {
		item.setAttr("jid", o.jid.String())
	}
	if it.newNick != "" {
		item.setAttr("nick", it.newNick)
	}
	if it.actor != "" {
		item.add(newElem(NSMUCUser, "actor", "nick", it.actor))
	}
	if it.reason != "" {
		item.add(newElem(NSMUCUser, "reason").withText(it.reason))
	}
	x.add(item)
	if it.destroy != nil {
		x.add(it.destroy.clone())
	}
	codes := append([]int(nil), it.codes...)
	if viewer == o {
		codes = append(codes, 110)
	}
	sort.Ints(codes)
	for _, c := range codes {
		x.add(newElem(NSMUCUser, "status", "code", strconv.Itoa(c)))
	}
	p.add(x)
	if o.id != "" {
		p.add(newElem(nsOccupantID, "occupant-id", "id", o.id))
	}
	return p
}

func hasCode(codes []int, c int) bool { return slices.Contains(codes, c) }

// broadcastPresence sends o's presence to every real occupant allowed to
// see it (o itself always sees its own).
func (s *Service) broadcastPresence(r *room, o *occupant, it presenceItem) {
	visible := r.broadcastsPresenceOf(o.role) || it.unavailable
	for _, v := range r.occupantsSorted() {
		if v.audioOnly() {
			continue
		}
		if v != o && !visible {
			continue
		}
		s.send(s.presenceOf(r, o, v, it))
	}
	// The leaving occupant is no longer in r.occ but must hear its own exit.
	if _, in := r.occ[o.key]; !in && !o.audioOnly() {
		s.send(s.presenceOf(r, o, o, it))
	}
}
