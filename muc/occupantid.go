package muc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// occupantID computes the XEP-0421 occupant identifier: stable for one bare
// JID in one room across joins, nick changes and bridge restarts, and
// unlinkable across rooms. It is an HMAC keyed from the component secret, so
// nobody without the secret can map an id back to a JID.
func occupantID(key []byte, room, who string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(room))
	m.Write([]byte{0})
	m.Write([]byte(who))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func occupantIDKey(secret string) []byte {
	k := sha256.Sum256([]byte("cusax occupant-id\x00" + secret))
	return k[:]
}
