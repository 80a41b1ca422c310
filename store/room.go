package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record asked for by name does not exist, so
// callers can tell "absent" from a failing backend with errors.Is.
var ErrNotFound = errors.New("store: not found")

// Room is a persistent chat room as the XEP-0045 service keeps it: its
// localpart, its owner configuration and its current subject. Affiliations
// are kept apart (see Affiliations) because they change far more often than
// the configuration and must not rewrite it.
type Room struct {
	// Name is the room's localpart ("standup" for standup@conference.example.test),
	// already normalised by the caller; it is the key.
	Name string `json:"name"`
	// Config is the muc#roomconfig state.
	Config RoomConfig `json:"config"`
	// Subject and SubjectBy are the last subject and the nick that set it.
	Subject   string `json:"subject,omitempty"`
	SubjectBy string `json:"subject_by,omitempty"`
	// Created is when the room was first created.
	Created time.Time `json:"created"`
}

// RoomConfig mirrors the muc#roomconfig form fields of XEP-0045 section 10.2
// that the bridge supports. It lives here rather than in muc so that every
// backend stores the same shape and a later reader of the store (sync, the
// admin API) need not import muc.
type RoomConfig struct {
	Title             string   `json:"title,omitempty"`
	Description       string   `json:"description,omitempty"`
	Persistent        bool     `json:"persistent"`
	Public            bool     `json:"public"`
	Moderated         bool     `json:"moderated"`
	MembersOnly       bool     `json:"members_only"`
	PasswordProtected bool     `json:"password_protected"`
	Password          string   `json:"password,omitempty"`
	WhoIs             string   `json:"whois,omitempty"`    // "moderators" or "anyone"
	MaxUsers          int      `json:"max_users"`          // 0 means no limit
	ChangeSubject     bool     `json:"change_subject"`     // occupants (not only moderators) may change it
	AllowPM           string   `json:"allow_pm,omitempty"` // "anyone", "participants", "moderators" or "none"
	AllowInvites      bool     `json:"allow_invites"`
	GetMemberList     []string `json:"get_member_list,omitempty"`    // roles allowed to read the member list
	PresenceBroadcast []string `json:"presence_broadcast,omitempty"` // roles whose presence is broadcast
	HistoryLength     int      `json:"history_length"`
	// EncryptedMediaOnly admits only encrypted audio (SRTP over TLS, or a
	// browser's DTLS-SRTP): a plain-RTP caller gets 488.
	EncryptedMediaOnly bool `json:"encrypted_media_only,omitempty"`
	// NoJoinTones silences the room's join and leave tones (they are on by
	// default, up to the node's --join-tones-up-to calls).
	NoJoinTones bool `json:"no_join_tones,omitempty"`
}

// Rooms stores room records. PutRoom creates or replaces; DeleteRoom removes
// the room and every affiliation recorded for it, and is not an error for an
// absent room (destroying twice is harmless).
type Rooms interface {
	PutRoom(ctx context.Context, r Room) error
	GetRoom(ctx context.Context, name string) (Room, error)
	DeleteRoom(ctx context.Context, name string) error
	ListRooms(ctx context.Context) ([]Room, error)
}
