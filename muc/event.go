package muc

import (
	"sync"
	"time"

	"cusax.dev/bridge/store"
)

// EventKind says what happened in a room.
type EventKind string

// The events sync consumes. Each names the room and the occupant it concerns.
const (
	EventJoined             EventKind = "joined"
	EventLeft               EventKind = "left"
	EventNickChanged        EventKind = "nick-changed"
	EventRoleChanged        EventKind = "role-changed"
	EventAffiliationChanged EventKind = "affiliation-changed"
	EventKicked             EventKind = "kicked"
	EventBanned             EventKind = "banned"
	EventRoomConfigured     EventKind = "room-configured"
	EventRoomDestroyed      EventKind = "room-destroyed"
	EventMessage            EventKind = "message"
)

// Event is one change in a room, delivered to Config.OnEvent.
type Event struct {
	Kind EventKind
	// Room is the room's localpart.
	Room string
	// Nick is the occupant concerned (after a nick change, the new nick;
	// OldNick holds the previous one).
	Nick, OldNick string
	// JID is the occupant's real bare JID, or the JID whose affiliation
	// changed; empty for audio-only occupants.
	JID string
	// AudioOnly marks an occupant added through AddAudioOccupant.
	AudioOnly   bool
	Role        Role
	Affiliation store.Affiliation
	// Actor is the nick of the moderator who acted, empty for the room
	// itself; ActorJID is their real bare JID (for the audit trail).
	Actor, Reason string
	ActorJID      string
	// Status holds the XEP-0045 status codes sent with the change (307, 301, 321, 332…).
	Status []int
	// Body and ToNick describe a message: groupchat when ToNick is empty,
	// private to ToNick otherwise.
	Body, ToNick string
	// Config is the room's configuration after EventRoomConfigured.
	Config *store.RoomConfig
	// AlternateVenue is the JID given when a room was destroyed.
	AlternateVenue string
	// At is when the stanza that caused the event reached the component
	// (for a command, when it was given): the start of the latency sync
	// measures from a moderator's action to its effect on the audio.
	At time.Time
}

// eventQueue delivers events in order to one consumer goroutine without
// ever blocking the service's lock: producers append, the consumer drains.
type eventQueue struct {
	mu    sync.Mutex
	items []Event
	wake  chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{wake: make(chan struct{}, 1)} }

func (q *eventQueue) push(e Event) int {
	q.mu.Lock()
	q.items = append(q.items, e)
	n := len(q.items)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return n
}

func (q *eventQueue) take() []Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
