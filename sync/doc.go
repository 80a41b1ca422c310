// Package sync will keep the two faces of a room in step: it binds MUC
// occupants to SIP legs, enforces MUC moderation on the audio and shows each
// side who is present on the other. It is the only package that knows both
// focus and muc, through small interfaces it declares itself.
package sync
