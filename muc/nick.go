package muc

import (
	"fmt"

	"golang.org/x/text/secure/precis"
)

// maxNickBytes bounds a nick after PRECIS enforcement; long nicks are a
// nuisance in every client and a cheap way to bloat every presence.
const maxNickBytes = 128

// enforceNick applies the PRECIS Nickname profile (RFC 8266), as XEP-0045
// section 7.2.1 requires, and returns the nick to use and its comparison
// key (case-folded, so "Alice" and "alice" conflict).
func enforceNick(raw string) (nick, key string, err error) {
	if raw == "" {
		return "", "", fmt.Errorf("muc: a nick is required, got none")
	}
	nick, err = precis.Nickname.String(raw)
	if err != nil {
		return "", "", fmt.Errorf("muc: nick %q is not allowed by the PRECIS nickname profile: %w", raw, err)
	}
	if len(nick) > maxNickBytes {
		return "", "", fmt.Errorf("muc: nick of %d bytes is longer than %d", len(nick), maxNickBytes)
	}
	key, err = precis.Nickname.CompareKey(nick)
	if err != nil {
		return "", "", fmt.Errorf("muc: nick %q has no comparison key: %w", raw, err)
	}
	return nick, key, nil
}
