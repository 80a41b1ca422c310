// Package sync keeps the two faces of a CUSAX room (RFC 7081 section 4) in
// step: the SIP audio conference of package focus and the XEP-0045 chat room
// of package muc. It is the only package that knows both, and it sees each
// through small interfaces it declares itself (faces.go).
//
// It binds SIP legs to MUC occupants (join tokens, Call-Info purpose=impp
// hints of RFC 6993 verified against the user's vCard or a directory rule,
// and directory rules), enforces MUC moderation on the audio (voice, kick,
// ban, members-only, password as a DTMF PIN, destroy), shows unbound callers
// as audio-only occupants and the audio state of everyone in their presence,
// and lists chat-only occupants in conference-info (RFC 4575).
//
// Design notes: docs/design/07_sync.md; the rules are DESIGN.md's "Binding a
// MUC occupant to a SIP leg" and "Sync rules".
package sync
