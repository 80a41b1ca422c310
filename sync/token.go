package sync

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"cusax.dev/bridge/store"
)

// storeTimeout bounds one join-token read or write in the store, so a
// stuck backend delays an INVITE or an announcement, never the bridge.
const storeTimeout = 5 * time.Second

// joinToken is one occupant's personal dial-in for one room (DESIGN.md,
// binding method 1). The token is the whole secret: 80 random bits, written
// in lower-case base32 because focus lower-cases the user part of the
// request URI. With Config.Tokens set, tokens live in the store (as
// store.JoinToken) and these in-memory maps stay empty; without, they live
// here and die with the process.
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
// pushing its expiry to now+ttl, in the store when there is one. It takes
// s.mu itself, and holds it for no store I/O.
func (s *Sync) tokenFor(ctx context.Context, room, jid string) (string, error) {
	if s.cfg.Tokens == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.tokenForLocked(room, jid), nil
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	now := s.now()
	var tok string
	jt, err := s.cfg.Tokens.OccupantToken(ctx, room, jid)
	switch {
	case err == nil && jt.Expires.After(now):
		tok = jt.Token // the same URI again, with its expiry pushed on
	case err == nil || errors.Is(err, store.ErrNotFound):
		tok = newToken()
	default:
		return "", fmt.Errorf("sync: reading the join token of %s in room %q: %w", jid, room, err)
	}
	err = s.cfg.Tokens.PutToken(ctx, store.JoinToken{Token: tok, Room: room, JID: jid, Expires: now.Add(s.ttl)})
	if err != nil {
		return "", fmt.Errorf("sync: storing the join token of %s in room %q: %w", jid, room, err)
	}
	return tok, nil
}

// tokenForLocked is tokenFor on the in-memory maps; call with s.mu held.
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
// unknown, expired or other-room token, and when the store cannot answer
// (the caller is refused rather than admitted as someone unproven).
func (s *Sync) checkToken(ctx context.Context, room, tok string) (jid string, ok bool) {
	if s.cfg.Tokens == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.checkTokenLocked(room, tok)
	}
	return s.checkStoredToken(ctx, room, tok)
}

func (s *Sync) checkStoredToken(ctx context.Context, room, tok string) (jid string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	jt, err := s.cfg.Tokens.Token(ctx, room, strings.ToLower(tok))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("cannot check a join token", "room", room, "err", err)
		}
		return "", false
	}
	if jt.Room != room || !jt.Expires.After(s.now()) {
		return "", false
	}
	return jt.JID, true
}

// checkTokenLocked is checkToken with s.mu held. With a store, it reads the
// store under the lock; only calls that Admit did not see (legFromFacts)
// come this way.
func (s *Sync) checkTokenLocked(room, tok string) (jid string, ok bool) {
	if s.cfg.Tokens != nil {
		return s.checkStoredToken(context.Background(), room, tok)
	}
	jt, found := s.tokens[strings.ToLower(tok)]
	if !found || jt.room != room || !jt.expires.After(s.now()) {
		return "", false
	}
	return jt.jid, true
}

// dropRoomTokens forgets every token of a destroyed room, so a room made
// again under the same name does not honour the old room's URIs.
func (s *Sync) dropRoomTokens(ctx context.Context, room string) {
	s.mu.Lock()
	for t, jt := range s.tokens {
		if jt.room == room {
			delete(s.tokens, t)
			delete(s.tokenOf, jt.room+"\x00"+jt.jid)
		}
	}
	s.mu.Unlock()
	if s.cfg.Tokens == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := s.cfg.Tokens.DeleteRoomTokens(ctx, room); err != nil {
		s.log.Warn("cannot delete the join tokens of a destroyed room", "room", room, "err", err)
	}
}
