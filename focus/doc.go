// Package focus is the SIP conference focus of CUSAX Bridge (RFC 4353,
// RFC 4579): a phone that dials sip:<room>@<sip-domain> lands in the room.
//
// It answers INVITEs over UDP, TCP and TLS with an SDP answer (RFC 3264)
// choosing the best codec the media engine and the phone share, plus RFC
// 4733 telephone-event; handles re-INVITE and UPDATE (hold, resume, codec and
// address changes), BYE both ways, CANCEL, OPTIONS and RFC 4028 session
// timers; serves the conference event package (RFC 4575, with the RFC 7106
// grouptextchat service URI, documents from package confinfo); takes MESSAGE
// (RFC 3428) and SIP INFO DTMF; dials out and accepts REFER to the focus
// (RFC 4579 section 5). Admission and events are hooks for the sync layer.
// Each leg runs an explicit state machine (leg.go) and releases its media
// leg and goroutines on every path.
//
// The focus knows nothing of XMPP: the chat room is only a URI it puts in
// conference-info documents.
package focus
