package storetest

import (
	"errors"
	"testing"
	"time"

	"cusax.dev/bridge/store"
)

// RunTokens is the conformance suite for store.Tokens.
func RunTokens(t *testing.T, newTokens func(t *testing.T) store.Tokens) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Tokens)
	}{
		{"RoundTrip", testTokensRoundTrip},
		{"Refresh", testTokensRefresh},
		{"OneTokenPerOccupant", testTokensOnePerOccupant},
		{"Expiry", testTokensExpiry},
		{"DeleteRoom", testTokensDeleteRoom},
		{"Invalid", testTokensInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newTokens(t)) })
	}
}

func putToken(t *testing.T, s store.Tokens, tok, room, jid string, ttl time.Duration) store.JoinToken {
	t.Helper()
	jt := store.JoinToken{Token: tok, Room: room, JID: jid, Expires: time.Now().Add(ttl).Round(time.Millisecond)}
	if err := s.PutToken(ctx(t), jt); err != nil {
		t.Fatalf("PutToken(%+v): %v", jt, err)
	}
	return jt
}

func wantToken(t *testing.T, s store.Tokens, room, tok string, want store.JoinToken) {
	t.Helper()
	got, err := s.Token(ctx(t), room, tok)
	if err != nil {
		t.Fatalf("Token(%q, %q): %v", room, tok, err)
	}
	if got.Token != want.Token || got.Room != want.Room || got.JID != want.JID || !got.Expires.Equal(want.Expires) {
		t.Fatalf("Token(%q, %q) = %+v, want %+v", room, tok, got, want)
	}
}

func wantNoToken(t *testing.T, s store.Tokens, room, tok string) {
	t.Helper()
	if got, err := s.Token(ctx(t), room, tok); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Token(%q, %q) = %+v, %v; want store.ErrNotFound", room, tok, got, err)
	}
}

func wantOccupant(t *testing.T, s store.Tokens, room, jid, tok string) {
	t.Helper()
	got, err := s.OccupantToken(ctx(t), room, jid)
	switch {
	case tok == "" && !errors.Is(err, store.ErrNotFound):
		t.Fatalf("OccupantToken(%q, %q) = %+v, %v; want store.ErrNotFound", room, jid, got, err)
	case tok != "" && (err != nil || got.Token != tok || got.JID != jid || got.Room != room):
		t.Fatalf("OccupantToken(%q, %q) = %+v, %v; want token %q", room, jid, got, err, tok)
	}
}

func testTokensRoundTrip(t *testing.T, s store.Tokens) {
	wantNoToken(t, s, "standup", "abc")
	wantOccupant(t, s, "standup", "bob@example.test", "")
	bob := putToken(t, s, "abc", "standup", "bob@example.test", time.Hour)
	// The same person in another room has a token of its own.
	other := putToken(t, s, "xyz", "retro", "bob@example.test", time.Hour)
	wantToken(t, s, "standup", "abc", bob)
	wantToken(t, s, "retro", "xyz", other)
	wantOccupant(t, s, "standup", "bob@example.test", "abc")
	wantOccupant(t, s, "retro", "bob@example.test", "xyz")
	// A token is worth nothing in another room.
	wantNoToken(t, s, "retro", "abc")
	wantNoToken(t, s, "", "abc")
	wantNoToken(t, s, "standup", "")
	wantOccupant(t, s, "standup", "alice@example.test", "")
}

func testTokensRefresh(t *testing.T, s store.Tokens) {
	putToken(t, s, "abc", "standup", "bob@example.test", 300*time.Millisecond)
	longer := putToken(t, s, "abc", "standup", "bob@example.test", time.Hour)
	wantToken(t, s, "standup", "abc", longer)
	// A witness put with the first, short TTL: once it is gone, the
	// refreshed token must still be there.
	putToken(t, s, "witness", "standup", "carol@example.test", 300*time.Millisecond)
	waitGone(t, s, "standup", "witness")
	wantToken(t, s, "standup", "abc", longer)
	wantOccupant(t, s, "standup", "bob@example.test", "abc")
}

func testTokensOnePerOccupant(t *testing.T, s store.Tokens) {
	putToken(t, s, "first", "standup", "bob@example.test", time.Hour)
	alice := putToken(t, s, "alices", "standup", "alice@example.test", time.Hour)
	second := putToken(t, s, "second", "standup", "bob@example.test", time.Hour)
	wantNoToken(t, s, "standup", "first")
	wantToken(t, s, "standup", "second", second)
	wantOccupant(t, s, "standup", "bob@example.test", "second")
	wantToken(t, s, "standup", "alices", alice)
}

// waitGone polls until the token lapses; the deadline is generous so a
// loaded machine does not fail it.
func waitGone(t *testing.T, s store.Tokens, room, tok string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := s.Token(ctx(t), room, tok)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatalf("Token(%q, %q): %v", room, tok, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("token %q of room %q did not expire", tok, room)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testTokensExpiry(t *testing.T, s store.Tokens) {
	putToken(t, s, "brief", "standup", "bob@example.test", 200*time.Millisecond)
	waitGone(t, s, "standup", "brief")
	wantOccupant(t, s, "standup", "bob@example.test", "")
	// The occupant gets a new token after its old one lapsed.
	again := putToken(t, s, "again", "standup", "bob@example.test", time.Hour)
	wantToken(t, s, "standup", "again", again)
	wantNoToken(t, s, "standup", "brief")
}

func testTokensDeleteRoom(t *testing.T, s store.Tokens) {
	putToken(t, s, "a1", "standup", "bob@example.test", time.Hour)
	putToken(t, s, "a2", "standup", "alice@example.test", time.Hour)
	keep := putToken(t, s, "b1", "retro", "bob@example.test", time.Hour)
	if err := s.DeleteRoomTokens(ctx(t), "standup"); err != nil {
		t.Fatalf("DeleteRoomTokens: %v", err)
	}
	wantNoToken(t, s, "standup", "a1")
	wantNoToken(t, s, "standup", "a2")
	wantOccupant(t, s, "standup", "bob@example.test", "")
	wantOccupant(t, s, "standup", "alice@example.test", "")
	wantToken(t, s, "retro", "b1", keep)
	for _, room := range []string{"standup", "never-existed", ""} {
		if err := s.DeleteRoomTokens(ctx(t), room); err != nil {
			t.Errorf("DeleteRoomTokens(%q) with no tokens: %v", room, err)
		}
	}
	// A recreated room starts afresh and works.
	fresh := putToken(t, s, "a3", "standup", "bob@example.test", time.Hour)
	wantToken(t, s, "standup", "a3", fresh)
	wantOccupant(t, s, "standup", "bob@example.test", "a3")
}

func testTokensInvalid(t *testing.T, s store.Tokens) {
	later := time.Now().Add(time.Hour)
	for name, jt := range map[string]store.JoinToken{
		"no token":    {Room: "standup", JID: "bob@example.test", Expires: later},
		"no room":     {Token: "abc", JID: "bob@example.test", Expires: later},
		"no JID":      {Token: "abc", Room: "standup", Expires: later},
		"no expiry":   {Token: "abc", Room: "standup", JID: "bob@example.test"},
		"in the past": {Token: "abc", Room: "standup", JID: "bob@example.test", Expires: time.Now().Add(-time.Second)},
	} {
		if err := s.PutToken(ctx(t), jt); err == nil {
			t.Errorf("PutToken(%s) = nil error", name)
		}
	}
	wantNoToken(t, s, "standup", "abc")
}
