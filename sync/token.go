package sync

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
)

// joinToken is one occupant's personal dial-in for one room (DESIGN.md,
// binding method 1). The token is the whole secret: 80 random bits, written
// in lower-case base32 because focus lower-cases the user part of the
// request URI.
type joinToken struct {
	room, jid string
	expires   time.Time
}

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newToken() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return tokenEncoding.EncodeToString(b[:])
}

// tokenFor returns the token of jid in room, minting one if needed and
// pushing its expiry to now+ttl; call with s.mu held.
func (s *Sync) tokenForLocked(room, jid string) string {
	now := s.now()
	key := room + "\x00" + jid
	tok, ok := s.tokenOf[key]
	if !ok || !s.tokens[tok].expires.After(now) {
		if ok {
			delete(s.tokens, tok)
		}
		tok = newToken()
		s.tokenOf[key] = tok
	}
	s.tokens[tok] = joinToken{room: room, jid: jid, expires: now.Add(s.ttl)}
	// Forget expired tokens now and then, so the maps stay small.
	if len(s.tokens) > 64 && len(s.tokens)%64 == 0 {
		for t, jt := range s.tokens {
			if !jt.expires.After(now) {
				delete(s.tokens, t)
				delete(s.tokenOf, jt.room+"\x00"+jt.jid)
			}
		}
	}
	return tok
}

// dialInURI is the personal dial-in URI of a token.
func (s *Sync) dialInURI(room, tok string) string {
	return "sip:" + room + "+" + tok + "@" + s.cfg.SIPDomain
}

// checkToken returns the JID a token binds in room; ok is false for an
// unknown, expired or other-room token.
func (s *Sync) checkTokenLocked(room, tok string) (jid string, ok bool) {
	jt, found := s.tokens[strings.ToLower(tok)]
	if !found || jt.room != room || !jt.expires.After(s.now()) {
		return "", false
	}
	return jt.jid, true
}
