// Package admin is the operators' HTTP API under /api/v1/ on the ops
// listener (issue 17): every room with the participants of both faces,
// actions on them (mute, unmute, kick, ban, end), a server-sent event
// stream for live views, and the OpenAPI document describing it all.
//
// It knows neither SIP nor XMPP: it reaches the bridge through the two
// small interfaces below, which cmd/bridge satisfies with an adapter over
// sync, so an action here is the same MUC moderation a moderator would
// take and each face shows it as usual.
package admin

import (
	"context"
	"errors"
	"time"
)

// Rooms reads the rooms of every node (the chat face holds them all).
type Rooms interface {
	Rooms(ctx context.Context) ([]Room, error)
	// Room returns one room, or an error wrapping ErrNotFound.
	Room(ctx context.Context, name string) (Room, error)
}

// Moderator carries out an action. An unknown room or nick gives an error
// wrapping ErrNotFound; an action that cannot apply to its target (a ban
// of an anonymous phone) one wrapping ErrConflict.
type Moderator interface {
	Act(ctx context.Context, a Action) error
	// SetLimits sets a room's limits (its muc#roomconfig_maxusers).
	SetLimits(ctx context.Context, room string, l Limits, actor string) error
	// Dial calls a phone into a room from the node that mixes it; callID
	// is empty when another node placed the call (node names it). A bad
	// URI gives an error wrapping ErrBadRequest.
	Dial(ctx context.Context, room, uri, actor string) (callID, node string, err error)
}

// Errors the interfaces return, for errors.Is; the API maps them to 404,
// 409 and 400.
var (
	ErrNotFound   = errors.New("admin: not found")
	ErrConflict   = errors.New("admin: conflicts with the target's state")
	ErrBadRequest = errors.New("admin: bad request")
)

// Action kinds.
const (
	ActionMute   = "mute"
	ActionUnmute = "unmute"
	ActionKick   = "kick"
	ActionBan    = "ban"
	ActionEnd    = "end"
	ActionLimits = "limits" // only in ActionResult: PUT …/limits
	ActionDial   = "dial"   // only in ActionResult: POST …/dial
)

// Action is one operator action on a room (End) or on one participant,
// named by its nick in the room.
type Action struct {
	Kind   string `json:"action"`
	Room   string `json:"room"`
	Nick   string `json:"nick,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Actor says who asked: "token" with a bearer token, "loopback"
	// without; with the client's address.
	Actor string `json:"actor"`
	// Limits are the new limits of a limits action.
	Limits *Limits `json:"limits,omitempty"`
	// URI is a dial action's target; CallID its call when placed by the
	// answering node, Node the node that placed it otherwise.
	URI    string `json:"uri,omitempty"`
	CallID string `json:"call_id,omitempty"`
	Node   string `json:"node,omitempty"`
}

// Room is one conference with both faces.
type Room struct {
	Name    string `json:"name"`
	Subject string `json:"subject,omitempty"`
	// Node mixes the room's audio; empty when no call is up. Remote is true
	// when it is another node than the one answering: call details
	// (talking, call IDs) are then not shown, only who is in the room.
	Node   string `json:"node,omitempty"`
	Remote bool   `json:"remote,omitempty"`
	Limits Limits `json:"limits"`
	// Moderated, MembersOnly and PasswordProtected are the chat room's
	// settings that decide who is heard and who may call in.
	Moderated         bool `json:"moderated"`
	MembersOnly       bool `json:"members_only"`
	PasswordProtected bool `json:"password_protected"`
	// Security sums the calls up: "encrypted" when every call's signalling
	// and media are, "plain" when no call's are, "mixed" otherwise, ""
	// without calls.
	Security     string        `json:"security,omitempty"`
	Participants []Participant `json:"participants"`
	// PendingLegs are calls not shown by any participant yet (ringing, or
	// awaiting the room's PIN).
	PendingLegs []Leg `json:"pending_legs,omitempty"`
}

// Limits are a room's limits.
type Limits struct {
	// MaxParticipants is muc#roomconfig_maxusers: chat occupants and phones
	// together; 0 means no limit.
	MaxParticipants int `json:"max_participants"`
}

// Participant is one person or phone in a room, whatever faces it uses.
type Participant struct {
	Nick        string `json:"nick"`
	JID         string `json:"jid,omitempty"`
	Role        string `json:"role"`
	Affiliation string `json:"affiliation"`
	// Faces lists how it takes part: "chat" (an XMPP client in the room),
	// "phone" (a SIP call), "browser" (a WebRTC call).
	Faces []string `json:"faces"`
	// Muted, Talking and Held sum up its calls.
	Muted   bool  `json:"muted"`
	Talking bool  `json:"talking"`
	Held    bool  `json:"held"`
	Legs    []Leg `json:"legs,omitempty"`
}

// Leg is one call.
type Leg struct {
	CallID  string `json:"call_id"`
	Kind    string `json:"kind"`  // phone, browser
	State   string `json:"state"` // the call's state: connected, on-hold, alerting…
	Binding string `json:"binding"`
	// Muted is voice taken by the room (a visitor); SelfMuted the caller's
	// own mute.
	Muted     bool `json:"muted"`
	SelfMuted bool `json:"self_muted"`
	Talking   bool `json:"talking"`
	Held      bool `json:"held"`
	Ringing   bool `json:"ringing"`
	// Signalling is "tls" (HTTPS for a browser) or "plain"; Media is
	// "srtp", "dtls-srtp" or "rtp"; Security sums them up: "encrypted"
	// (both), "partial" (one) or "plain" (neither). RFC 7081 section 7
	// asks both faces to show it.
	Signalling string    `json:"signalling"`
	Media      string    `json:"media"`
	Security   string    `json:"security"`
	Since      time.Time `json:"since"`
}

// Node is the answering node's health and key figures for the dashboard.
type Node struct {
	ID      string          `json:"id"`
	Version string          `json:"version"`
	Ready   bool            `json:"ready"`
	Checks  map[string]bool `json:"checks"`
	Calls   int             `json:"calls"`
	Rooms   int             `json:"rooms"`
}
