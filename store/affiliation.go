package store

import (
	"context"
	"fmt"
)

// Affiliation is a long-lived relation of a bare JID to a room (XEP-0045
// section 5.2). Outcast is a ban.
type Affiliation string

// The affiliations of XEP-0045 section 5.2. AffiliationNone is never stored:
// setting it removes the record.
const (
	AffiliationNone    Affiliation = "none"
	AffiliationOutcast Affiliation = "outcast"
	AffiliationMember  Affiliation = "member"
	AffiliationAdmin   Affiliation = "admin"
	AffiliationOwner   Affiliation = "owner"
)

// Valid reports whether a is one of the five affiliations, so a backend can
// refuse to store garbage.
func (a Affiliation) Valid() bool {
	switch a {
	case AffiliationNone, AffiliationOutcast, AffiliationMember, AffiliationAdmin, AffiliationOwner:
		return true
	}
	return false
}

// AffiliationEntry is one bare JID's affiliation with a room, with the reason
// given (shown in ban lists) and the reserved nick, if any.
type AffiliationEntry struct {
	JID         string      `json:"jid"`
	Affiliation Affiliation `json:"affiliation"`
	Reason      string      `json:"reason,omitempty"`
	Nick        string      `json:"nick,omitempty"`
}

// Affiliations stores affiliation lists per room. SetAffiliation with
// AffiliationNone removes the entry; Affiliations returns every entry of the
// room (empty, not an error, for a room without any).
type Affiliations interface {
	SetAffiliation(ctx context.Context, room string, e AffiliationEntry) error
	Affiliations(ctx context.Context, room string) ([]AffiliationEntry, error)
}

// Store is everything a backend offers today. Consumers should declare the
// subset they use instead of depending on this.
type Store interface {
	Rooms
	Affiliations
	Tokens
	Leases
	Close() error
}

// CheckAffiliation validates an entry before a backend writes it, so every
// backend refuses the same bad input with the same error.
func CheckAffiliation(room string, e AffiliationEntry) error {
	if room == "" {
		return fmt.Errorf("store: affiliation needs a room name, got an empty one")
	}
	if e.JID == "" {
		return fmt.Errorf("store: affiliation in room %q needs a JID, got an empty one", room)
	}
	if !e.Affiliation.Valid() {
		return fmt.Errorf("store: affiliation of %s in room %q must be none, outcast, member, admin or owner, got %q", e.JID, room, e.Affiliation)
	}
	return nil
}
