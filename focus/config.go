package focus

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is everything the focus needs; cmd/bridge fills it from flags.
// Zero values get the defaults named on each field.
type Config struct {
	// Listen is the SIP address served on both UDP and TCP (e.g.
	// 127.0.0.1:5060). Port 0 picks a free port, see Addr.
	Listen string
	// TLSListen, TLSCert and TLSKey enable sips: on TLS when all three are set.
	TLSListen, TLSCert, TLSKey string
	// Domain is the SIP domain of room URIs (sip:<room>@<Domain>). Requests
	// to any host are accepted: the focus is the only thing behind its
	// address and routes calls elsewhere only when Admit says Moved or
	// Proxy.
	Domain string
	// RTPAddress is the address written in SDP c= lines. Default: the
	// media engine's leg addresses.
	RTPAddress netip.Addr
	// ChatDomain is the MUC domain of the XMPP chat face. Conference-info
	// documents then advertise xmpp:<room>@<ChatDomain>?join as the
	// grouptextchat service URI (RFC 7106); empty turns that entry off.
	ChatDomain string
	// RequireExistingRooms makes INVITEs to a room nobody is in answer 404
	// unless Admit accepts them; by default rooms are made on the first call.
	RequireExistingRooms bool

	// MaxCalls and MaxCallsPerRoom bound the calls of the node and of one
	// room (0 = no limit); beyond them INVITEs get 503 and 486.
	MaxCalls, MaxCallsPerRoom int
	// InviteRate and InviteBurst bound new INVITEs per source IP (token
	// bucket, per second); 0 = 20/s with a burst of 40; a negative rate
	// turns the limit off (a trunk or SBC sends every call from one address).
	InviteRate  float64
	InviteBurst int
	// RetryAfter is what 503 answers advertise; default 30 s.
	RetryAfter time.Duration
	// TrustProxied says whether an INVITE from this address may carry
	// ProxiedHeader: only other bridge nodes forward calls. From anyone
	// else the header is ignored (no CallFacts.Proxied, no exemption from
	// the INVITE limit), so a phone cannot forge it. Nil trusts nobody.
	TrustProxied func(netip.Addr) bool
	// SessionExpires is the RFC 4028 session interval offered; default
	// 1800 s, never under 90 s. Calls not refreshed in time are ended.
	SessionExpires time.Duration
	// SubscribeExpires is the lifetime granted to a conference SUBSCRIBE
	// without an Expires header, and the longest granted; default 1 h.
	SubscribeExpires time.Duration
	// SubscribeMinExpires is the shortest subscription accepted: a
	// SUBSCRIBE asking less (but not 0) gets 423 Interval Too Brief with
	// Min-Expires (RFC 6665 section 4.2.1.1). Default 60 s, which keeps
	// watchers from refreshing in a tight loop; tests lower it to watch
	// subscriptions expire. Values above SubscribeExpires are capped to it.
	SubscribeMinExpires time.Duration
	// MediaEncryption is the node's policy: EncryptionOptional (default),
	// EncryptionRequired or EncryptionOff (--media-encryption).
	MediaEncryption string
	// SelfMute is the DTMF sequence that toggles a caller's own mute;
	// default "*6", "-" turns it off.
	SelfMute string

	// Media is the media engine (the mixer, through NewMixerMedia). Required.
	Media Media
	// Admit decides on every new call; nil admits everyone (within limits).
	Admit func(ctx context.Context, call CallFacts) Admission
	// OnEvent receives joins, leaves, DTMF, MESSAGEs and hold changes; it
	// is called from SIP goroutines and must not block.
	OnEvent func(Event)

	// UserAgent is the Server/User-Agent header value; default "cusax-bridge".
	UserAgent string
	Logger    *slog.Logger
	Metrics   prometheus.Registerer
}

// CallFacts is what the focus knows about a caller when it decides to
// admit the call; sync uses it to bind the leg to an occupant.
type CallFacts struct {
	Room   string // the room part of the request URI
	CallID string // SIP Call-ID, the leg's identifier in events
	// Token is the join token of a sip:<room>+<token>@<domain> personal
	// dial-in URI (DESIGN.md, binding), empty otherwise.
	Token       string
	From        string // the caller's URI (From header)
	DisplayName string
	// AssertedIdentity is P-Asserted-Identity when present (RFC 3325).
	AssertedIdentity string
	// IMPP lists the Call-Info URIs with purpose=impp (RFC 6993), e.g.
	// xmpp:alice@example.test: a hint, never a proof.
	IMPP []string
	// Source is the transport address the INVITE came from.
	Source netip.AddrPort
	// Secure is true when the INVITE came over TLS: a caller sent to
	// another node must be sent to its TLS listener, never downgraded.
	Secure bool
	// Media is the media security the offer negotiated: MediaSRTP or
	// MediaPlain (an offerless INVITE is answered with plain RTP).
	Media string
	// DialOut is true for legs the focus called itself.
	DialOut bool
	// Proxied is true when the INVITE carries ProxiedHeader: another
	// bridge node admitted it with the Proxy verdict and forwarded it here
	// as the room's owner. Admit must then take the call here (or refuse
	// it), never send it on with Moved or Proxy, even if it briefly
	// disagrees about the owner: the focus answers such a verdict 482 Loop
	// Detected. The header counts only from addresses Config.TrustProxied
	// accepts; Source's IP is then the forwarding node's (sipgo sends from
	// an ephemeral port).
	Proxied bool
}

// ProxiedHeader is the header a node adds to an INVITE it forwards to the
// room's owner under the Proxy verdict; its value is the forwarding node's
// SIP URI (e.g. sip:127.0.0.1:5071), for logs. Its presence sets
// CallFacts.Proxied on the node that receives it, and exempts the INVITE
// from the per-address INVITE limit there (the forwarding node applied it
// to the phone; here every proxied call comes from that node's address),
// when it comes from an address Config.TrustProxied accepts.
const ProxiedHeader = "X-Cusax-Proxied"

// Verdict is the admission answer.
type Verdict int

// Verdicts, each mapping to a precise SIP answer.
const (
	Accept      Verdict = iota // 200
	UnknownRoom                // 404 Not Found
	Forbidden                  // 403 Forbidden (not allowed, banned)
	RoomFull                   // 486 Busy Here + Retry-After
	NodeFull                   // 503 Service Unavailable + Retry-After
	RoomClosing                // 480 Temporarily Unavailable (room being destroyed)
	// Moved sends the caller to the node that owns the room: 302 Moved
	// Temporarily with Admission.Contact, so the phone re-sends its INVITE
	// there (RFC 3261 section 8.1.3.4). A room is mixed on one node only.
	Moved
	// Proxy forwards the INVITE to the node at Admission.Contact instead,
	// for phones and trunks that do not follow a 3xx: the focus acts as a
	// transaction-stateful proxy (RFC 3261 section 16) for this INVITE
	// only, relaying every answer back, forwarding a CANCEL, and adding no
	// Record-Route, so the dialog's later requests go straight between the
	// phone and the owner, whose Contact the 200 carries. No leg, dialog
	// or media is made here. An owner that does not answer gives the
	// caller 503 with Retry-After; Max-Forwards 0 gives 483.
	Proxy
	// NeedsEncryption refuses a plain-RTP call to a room that takes
	// encrypted media only: 488 Not Acceptable Here.
	NeedsEncryption
)

// Admission is what Admit returns.
type Admission struct {
	Verdict Verdict
	// Reason is sent as the response's reason phrase when set.
	Reason string
	// RetryAfter overrides Config.RetryAfter for NodeFull and RoomFull.
	RetryAfter time.Duration
	// Muted admits the caller without voice (RFC 4575 muted-via-focus).
	Muted bool
	// Deaf admits the caller hearing nothing of the room (its own prompts
	// still play), e.g. until it keys a password room's PIN.
	Deaf bool
	// DisplayName overrides the name shown in conference-info.
	DisplayName string
	// Contact is where a Moved verdict sends the caller and a Proxy verdict
	// forwards the INVITE: the owner node's SIP URI, e.g.
	// sip:127.0.0.1:5072 or sip:10.0.0.7:5060;transport=tcp. The 302's
	// Contact and the forwarded Request-URI keep the user part of the
	// INVITE's Request-URI (the room, with its +token), so the caller
	// lands in the same room there. A
	// Contact that is not a plain sip: or sips: URI is a bug of the caller
	// of the hook: the INVITE then gets 500.
	Contact string
}

// EventKind says what happened to a leg.
type EventKind int

// Event kinds.
const (
	EventJoined   EventKind = iota + 1 // the call is connected to its room
	EventLeft                          // the call ended (Reason says how)
	EventDTMF                          // a digit (RFC 4733 or SIP INFO)
	EventMessage                       // a SIP MESSAGE (RFC 3428)
	EventHold                          // Held says whether the leg is now on hold
	EventMute                          // Muted says whether the leg is now muted
	EventAlerting                      // a dial-out leg is ringing
)

// Event is what the focus tells sync; the leg is named by its Call-ID.
type Event struct {
	Kind   EventKind
	Room   string
	CallID string
	Call   CallFacts
	Digit  rune   // EventDTMF
	Text   []byte // EventMessage body
	// ContentType of an EventMessage.
	ContentType string
	Held        bool   // EventHold
	Muted       bool   // EventMute
	SelfMuted   bool   // EventMute: toggled by the caller's own DTMF
	Reason      string // EventLeft: departed, booted or failed (RFC 4575 disconnection-method)
}

const (
	defaultSessionExpires = 1800 * time.Second
	minSessionExpires     = 90 * time.Second
	defaultRetryAfter     = 30 * time.Second
)
