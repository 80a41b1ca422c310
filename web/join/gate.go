package join

import (
	"context"
	"errors"
	"net/netip"
)

// Gate is the room's side of a browser join: sync, through an adapter in
// cmd/bridge, so this package knows neither SIP nor XMPP.
type Gate interface {
	// Admit decides on a join before any media port is used.
	Admit(ctx context.Context, j Join) Decision
	// LegEvent tells the room what happened to an admitted browser leg.
	LegEvent(ev Event)
	// Roster lists who is in the room on both faces, for the page.
	Roster(room string) []Participant
	// Home is the public URL of the node that serves room when it is not
	// this one (many nodes: the room's owner), else "".
	Home(ctx context.Context, room string) string
}

// Join is what a browser asks for.
type Join struct {
	Room  string
	LegID string // the leg's identifier from now on (sync's call ID)
	// Token is the personal join token of a /join/<room>#<token> link
	// (DESIGN.md binding method 1); empty for an anonymous join.
	Token string
	// Nick is the name an anonymous participant typed.
	Nick string
	// Password is the room password typed on the page, if any.
	Password string
	Source   netip.AddrPort
	// Secure is true when the join came over HTTPS.
	Secure bool
}

// Verdict is the room's answer to a join.
type Verdict int

// Verdicts, each with its HTTP status (see status).
const (
	Admitted      Verdict = iota // 201
	Refused                      // 403: banned, members only, bad token
	WrongPassword                // 403, and the page asks again
	NoRoom                       // 404
	Full                         // 503 with Retry-After
	Moved                        // 307 to Decision.Location (the owner node)
	Unavailable                  // 503: the bridge cannot decide now
	NeedsPassword                // 401: the room has a password and none was given
	BadRequest                   // 400: e.g. no nick for an anonymous join
	RoomFull                     // 409 with Retry-After: the room holds its most participants
)

// Decision is what Admit returns.
type Decision struct {
	Verdict Verdict
	// Reason is a sentence for the page ("banned from this room").
	Reason string
	// Muted admits the leg without voice (a visitor in a moderated room).
	Muted bool
	// Location is where a Moved verdict sends the browser: the owner node's
	// public URL; the request's own path and query follow it.
	Location string
}

// EventKind says what happened to a browser leg.
type EventKind int

// Event kinds.
const (
	EventJoined   EventKind = iota + 1 // media is flowing (DTLS done)
	EventLeft                          // the leg ended; Reason says how
	EventSelfMute                      // the page's own mute button; Muted
)

// Event is what the join server tells the room.
type Event struct {
	Kind    EventKind
	Room    string
	LegID   string
	MediaID uint64
	Muted   bool
	// Reason of EventLeft: departed, booted or failed (RFC 4575
	// disconnection-method).
	Reason string
}

// Participant is one entry of a room's roster as the page shows it.
type Participant struct {
	Nick    string `json:"nick"`
	Chat    bool   `json:"chat"`    // in the chat room
	Audio   string `json:"audio"`   // "", "phone" or "browser"
	Muted   bool   `json:"muted"`   // out of the mix (voice revoked or self-muted)
	Talking bool   `json:"talking"` // talking now
	Self    bool   `json:"self"`    // this browser's own leg
	LegID   string `json:"-"`
}

// LegInfo is what Legs reports about a browser leg.
type LegInfo struct {
	LegID     string
	Room      string
	Nick      string
	Muted     bool // by the room (moderation)
	SelfMuted bool // by the page's button
	MediaID   uint64
	Connected bool
}

// ErrNoSuchLeg is returned by the control calls for a leg this server does
// not hold.
var ErrNoSuchLeg = errors.New("join: no such browser leg")
