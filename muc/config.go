package muc

import (
	"context"
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/store"
)

// Store is what the service persists: persistent rooms and their
// affiliations. It is declared here, by its consumer; store/bolt (and later
// the Redis backend) satisfy it. A nil Store keeps everything in memory.
type Store interface {
	PutRoom(ctx context.Context, r store.Room) error
	DeleteRoom(ctx context.Context, name string) error
	ListRooms(ctx context.Context) ([]store.Room, error)
	SetAffiliation(ctx context.Context, room string, e store.AffiliationEntry) error
	Affiliations(ctx context.Context, room string) ([]store.AffiliationEntry, error)
}

// Config is everything the service needs; cmd/bridge fills it from flags.
type Config struct {
	// ComponentAddr is the XMPP server's component port (XEP-0114),
	// host:port; empty means 127.0.0.1:5347.
	ComponentAddr string
	// Domain is the component's domain, e.g. conference.example.test. Rooms
	// are <room>@Domain.
	Domain string
	// ComponentTLS, when set, speaks TLS on the component port (ejabberd's
	// ejabberd_service with tls: true), verifying the server's certificate
	// as RFC 7590 asks; nil is plain TCP, for loopback or a private network
	// (Prosody 0.12 has no TLS there).
	ComponentTLS *tls.Config
	// Secret is the shared component secret.
	Secret string
	// SIPDomain is where the audio face of each room lives: room disco#info
	// advertises sip:<room>@SIPDomain as audio-video-uri. Empty omits it.
	SIPDomain string
	// Name is the service's disco identity name; empty means "Chat rooms".
	Name string

	// Store persists persistent rooms; nil keeps them in memory only.
	Store Store
	// Logger receives the link's and rooms' logs; nil discards.
	Logger *slog.Logger
	// Registerer receives the bridge_muc_* metrics; nil uses a private registry.
	Registerer prometheus.Registerer

	// OnEvent, when set, receives every room event, in order, from one
	// goroutine that is not holding the service's lock, so it may call the
	// service's commands.
	OnEvent func(Event)

	// Leases, when set, shares the component domain among many nodes: the
	// link is held only under the store lease of the domain, by NodeID,
	// and the other nodes stand by (Standby) until it lapses. Nil holds the
	// link unconditionally (one node).
	Leases LinkLeases
	// NodeID names this node as the lease holder; required with Leases.
	NodeID string
	// LinkLeaseTTL is the lease's time to live, renewed every third of it:
	// how long a dead holder keeps the others waiting. Zero means 5 s.
	LinkLeaseTTL time.Duration

	// ReconnectMin and ReconnectMax bound the capped exponential backoff
	// between link attempts; zero means 250 ms and 30 s.
	ReconnectMin, ReconnectMax time.Duration

	// DefaultRoom is the configuration of a room created by a join; its zero
	// value is replaced by DefaultRoomConfig().
	DefaultRoom *store.RoomConfig

	// LockNewRooms makes a room created by a join a reserved room (XEP-0045
	// 10.1.2): locked to everyone but its creator until the creator submits
	// the configuration form (an empty submission makes it an instant room;
	// cancelling destroys it). False, the default, unlocks at once, like
	// Prosody with muc_room_locking = false, for clients that ignore 201.
	LockNewRooms bool

	// MaxHistory caps the history kept per room (muc#roomconfig_historylength
	// cannot exceed it); zero means 50.
	MaxHistory int

	// NoMulticast turns off multicast through the server: every groupchat
	// copy then crosses the link as its own stanza, even to a server that
	// advertises XEP-0033 (http://jabber.org/protocol/address). For tests
	// and for operators who suspect the server's module.
	NoMulticast bool

	// Now returns the time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// DefaultRoomConfig is the configuration of a newly created room: a public,
// open, unmoderated, semi-anonymous, temporary room, as XEP-0045 suggests
// for instant rooms.
func DefaultRoomConfig() store.RoomConfig {
	return store.RoomConfig{
		Public:            true,
		WhoIs:             "moderators",
		AllowPM:           "anyone",
		GetMemberList:     []string{"moderator", "participant", "visitor"},
		PresenceBroadcast: []string{"moderator", "participant", "visitor"},
		HistoryLength:     20,
	}
}
