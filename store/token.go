package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// JoinToken is one chat occupant's personal dial-in for one room (DESIGN.md,
// "Binding a MUC occupant to a SIP leg", method 1): whoever calls
// sip:<Room>+<Token>@<sip-domain> before Expires is JID. It lives in the
// store so that a restart, or another node, still honours a URI that was
// already announced.
type JoinToken struct {
	// Token is the secret user-part suffix, as sync minted it.
	Token string `json:"token"`
	// Room is the room's localpart; a token is valid in this room only.
	Room string `json:"room"`
	// JID is the bare JID the token binds a call to.
	JID string `json:"jid"`
	// Expires is when the token stops being honoured unless put again.
	Expires time.Time `json:"expires"`
}

// Tokens stores join tokens. An occupant has at most one token per room:
// putting a token for a (Room, JID) that held another drops the other, so a
// re-announce that refreshes the TTL keeps one URI and a re-mint never
// leaves the old URI valid. Lookups take the room as well as the token,
// because the dial-in URI carries both and a token is worth nothing in
// another room (it also keeps a room's tokens together for DeleteRoomTokens).
type Tokens interface {
	// PutToken records t until t.Expires, replacing any earlier record of
	// the same token and any other token of the same occupant in the room.
	PutToken(ctx context.Context, t JoinToken) error
	// Token returns the live token of room, or an error wrapping
	// ErrNotFound when it is absent, expired or of another room.
	Token(ctx context.Context, room, token string) (JoinToken, error)
	// OccupantToken returns jid's live token in room, or an error wrapping
	// ErrNotFound: this is how a restarted node re-announces the same URI.
	OccupantToken(ctx context.Context, room, jid string) (JoinToken, error)
	// DeleteRoomTokens drops every token of room (the room was destroyed);
	// a room with none is fine.
	DeleteRoomTokens(ctx context.Context, room string) error
}

// CheckJoinToken validates a token before a backend writes it, so every
// backend refuses the same bad input with the same error. now is the
// writer's clock: a token already expired is refused rather than stored.
func CheckJoinToken(t JoinToken, now time.Time) error {
	if t.Token == "" {
		return errors.New("store: join token needs a token, got an empty one")
	}
	if t.Room == "" {
		return fmt.Errorf("store: join token %q needs a room name, got an empty one", t.Token)
	}
	if t.JID == "" {
		return fmt.Errorf("store: join token %q of room %q needs a JID, got an empty one", t.Token, t.Room)
	}
	if !t.Expires.After(now.Add(time.Millisecond)) {
		return fmt.Errorf("store: join token %q of room %q must expire at least 1ms from now (%v), got %v", t.Token, t.Room, now, t.Expires)
	}
	return nil
}
