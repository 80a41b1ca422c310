package sync

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/store"
)

// Config is everything sync needs; cmd/bridge fills it and hands it the two
// faces it built.
type Config struct {
	// Audio is the SIP face (the *focus.Focus). Required.
	Audio Audio
	// Chat is the XMPP face (the *muc.Service). Required.
	Chat Chat
	// SIPDomain is the host of the personal dial-in URIs announced to
	// occupants: sip:<room>+<token>@SIPDomain. Required.
	SIPDomain string
	// Browsers are the browser legs (web/join), controlled like phones;
	// nil when browser join is off.
	Browsers BrowserLegs
	// WebEndpoints shows browser legs in conference-info (the *focus.Focus).
	WebEndpoints WebEndpoints
	// RequireEncryption says the node refuses plain-RTP calls
	// (--media-encryption required), so announcements say how to call.
	RequireEncryption bool
	// WebLink makes an occupant's personal browser link from its join
	// token (web/join's Server.Link); nil announces only the SIP URI.
	WebLink func(room, token string) string
	// ChatDomain is the MUC component domain, used to name chat-only
	// occupants in conference-info (xmpp:<room>@ChatDomain/<nick>).
	ChatDomain string

	// Directory maps SIP addresses to JIDs (DESIGN.md, binding method 3);
	// a rule also verifies an impp hint that names the same JID.
	Directory []DirectoryRule
	// VCards verifies impp hints against the user's vCard; nil means only
	// directory rules verify them.
	VCards VCards

	// Tokens keeps join tokens in the store, so a dial-in URI announced
	// before a restart, or by another node, is still honoured; nil keeps
	// them in this process's memory only.
	Tokens store.Tokens
	// TokenTTL is how long a join token stays valid after it was last
	// announced; zero means 24 h.
	TokenTTL time.Duration
	// AnnounceTokens sends each chat occupant its personal dial-in URI by
	// private message from the room when it joins. Occupants can always ask
	// with "!dialin".
	AnnounceTokens bool
	// PhoneChat says whether a room's groupchat goes to its SIP-only
	// phones as MESSAGE (to those whose Allow lists it); nil means every
	// room. Phones bound to a person never get it: they read the room in
	// their XMPP client.
	PhoneChat func(room string) bool
	// PINTimeout bounds how long a caller of a password-protected room has
	// to key the PIN (digits then #); zero means 60 s.
	PINTimeout time.Duration
	// JoinTonesUpTo: in rooms of at most this many calls, the others hear
	// a tone when a call joins or leaves (prompts.go); zero turns the
	// tones off.
	JoinTonesUpTo int

	// Cluster joins this node to others sharing the store (Redis): calls
	// go to their room's owner node, and the chat face is reached through
	// whichever node holds the component link. The zero value runs alone.
	Cluster ClusterConfig

	// Logger receives sync's logs; nil discards.
	Logger *slog.Logger
	// Registerer receives the bridge_sync_* metrics; nil uses a private registry.
	Registerer prometheus.Registerer
	// Now returns the time; nil means time.Now. Tests set it.
	Now func() time.Time
}
