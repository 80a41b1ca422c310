package sync

import (
	"context"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// LegControl is what sync does to calls when the chat room decides:
// *focus.Focus satisfies it.
type LegControl interface {
	Kick(ctx context.Context, callID, reason string) error
	SetMuted(callID string, muted bool) error
	SetDeaf(callID string, deaf bool) error
	CloseRoom(ctx context.Context, room, reason string) error
}

// LegDirectory is what sync reads from and shows on the audio face:
// *focus.Focus satisfies it.
type LegDirectory interface {
	Legs(room string) []focus.LegInfo
	SetChatUsers(room string, users []focus.ChatUser)
	Dial(ctx context.Context, room, target, display string, done func(focus.DialResult)) (string, error)
}

// LegMessages sends the room's chat to phones without XMPP as in-dialog
// MESSAGE (RFC 3428): *focus.Focus satisfies it.
type LegMessages interface {
	SendMessage(ctx context.Context, callID, contentType string, body []byte) error
}

// Audio is the SIP face of every room.
type Audio interface {
	LegControl
	LegDirectory
	LegMessages
}

// AudioOccupants shows phone legs in the chat room: *muc.Service satisfies it.
type AudioOccupants interface {
	AddAudioOccupant(ctx context.Context, room, nick string, p muc.PhonePresence) error
	UpdateAudioOccupant(ctx context.Context, room, nick string, p muc.PhonePresence) error
	RemoveAudioOccupant(ctx context.Context, room, nick, status string) error
}

// ChatNotices is how sync speaks in a room: as the room (join tokens,
// notices), as a phone's occupant, or in a chat occupant's own presence.
type ChatNotices interface {
	SendPrivateMessage(ctx context.Context, room, nick, body string) error
	SendOccupantMessage(ctx context.Context, room, nick, body string) error
	SetOccupantAudio(ctx context.Context, room, nick string, p *muc.PhonePresence) error
}

// RoomState is what sync reads from the chat face to decide on a call.
type RoomState interface {
	Rooms() []muc.RoomInfo
	Occupants(room string) ([]muc.OccupantInfo, error)
	Affiliation(room, bareJID string) (store.Affiliation, error)
}

// ChatLink tells sync when the component link is up (to reconcile after a
// reconnect) and lets it set an audio-only occupant's role.
type ChatLink interface {
	Ready() bool
	SetRole(ctx context.Context, room, nick string, role muc.Role, reason string) error
}

// Chat is the XMPP face of every room.
type Chat interface {
	AudioOccupants
	ChatNotices
	RoomState
	ChatLink
}

// VCards fetches a user's vCard (vcard-temp, XEP-0054) from the user's
// own server, as the component, so an impp hint (RFC 6993) can be
// verified: it returns the <vCard xmlns='vcard-temp'/> element as XML.
// Which SIP addresses it lists is sync's decision (vcard.go). Optional:
// without it only directory rules verify hints.
type VCards interface {
	VCard(ctx context.Context, bareJID string) ([]byte, error)
}
