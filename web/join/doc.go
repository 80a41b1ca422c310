// Package join lets a chat user join a room's audio from the browser: it
// serves the join page (/join/<room>) and a WHIP-style (RFC 9725) offer and
// answer exchange over plain HTTP (POST the SDP offer to /whip/<room>, 201
// with the answer and the resource URL, DELETE the resource to leave). Each
// browser gets a pion PeerConnection (ICE-lite, DTLS-SRTP, Opus) whose audio
// is a packet leg of the same mixer room the phones are in.
//
// A browser leg is a leg like a phone's: the room admits or refuses it
// through Gate (sync, via cmd/bridge), moderation mutes, kicks and ends it
// through the control methods, and the page follows its state over a
// server-sent events stream on the resource (GET <resource>/events). No
// WebSocket protocol of our own. See docs/design/10_browser_join.md.
package join
