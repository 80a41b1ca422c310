package sync

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store/bolt"
)

// openBolt opens the file at path, closing it when the test ends unless the
// test closed it first (to reopen it, as a restarted bridge does).
func openBolt(t *testing.T, path string) (*bolt.Store, func()) {
	t.Helper()
	st, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var closed atomic.Bool
	closeIt := func() {
		if closed.CompareAndSwap(false, true) {
			if err := st.Close(); err != nil {
				t.Errorf("closing %s: %v", path, err)
			}
		}
	}
	t.Cleanup(closeIt)
	return st, closeIt
}

var dialInRE = regexp.MustCompile(`sip:standup\+([a-z2-7]+)@sip\.example\.test`)

// announced joins bob to standup and returns the token of the dial-in URI
// sync sent him privately.
func announced(t *testing.T, h *harness) string {
	t.Helper()
	h.chat.mu.Lock()
	before := len(h.chat.private)
	h.chat.mu.Unlock()
	h.s.OnChatEvent(h.chat.join("standup", "bob", "bob@example.test", muc.RoleParticipant))
	h.settle(t)
	h.chat.mu.Lock()
	defer h.chat.mu.Unlock()
	for _, dm := range h.chat.private[before:] {
		if m := dialInRE.FindStringSubmatch(dm); m != nil && strings.HasPrefix(dm, "standup/bob: ") {
			return m[1]
		}
	}
	t.Fatalf("bob got no dial-in; private messages: %q", h.chat.private[before:])
	return ""
}

func TestStoredTokensSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.db")
	base := time.Now()
	var offset atomic.Int64 // the fake clock runs ahead of the real one by this much
	clock := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	withStore := func(st *bolt.Store) func(*Config) {
		return func(c *Config) { c.Tokens = st; c.Now = clock; c.TokenTTL = time.Hour }
	}
	admit := func(h *harness, room, callID, tok string) focus.Admission {
		return h.s.Admit(context.Background(), focus.CallFacts{Room: room, CallID: callID, Token: tok, From: "sip:someone@pbx.test"})
	}

	st1, close1 := openBolt(t, path)
	h1 := newHarness(t, withStore(st1))
	tok := announced(t, h1)
	if again := announced(t, h1); again != tok {
		t.Fatalf("a second announcement gave a new token %q, want the same %q", again, tok)
	}
	close1()

	// A restart: a new Sync over the reopened file honours the token.
	st2, _ := openBolt(t, path)
	h2 := newHarness(t, withStore(st2))
	if adm := admit(h2, "standup", "c1", tok); adm.Verdict != focus.Accept {
		t.Fatalf("a token issued before the restart was refused: %+v", adm)
	}
	if jid, method, why := h2.s.bind(context.Background(), focus.CallFacts{Room: "standup", Token: strings.ToUpper(tok)}); jid != "bob@example.test" || method != "token" || why != "" {
		t.Fatalf("bind after the restart = %q %q %q, want bob@example.test by token", jid, method, why)
	}
	// The new instance re-announces the same URI, not a second one.
	if again := announced(t, h2); again != tok {
		t.Fatalf("after the restart bob was announced %q, want the stored %q", again, tok)
	}
	if adm := admit(h2, "retro", "c2", tok); adm.Verdict != focus.Forbidden {
		t.Fatalf("a token used in another room was admitted: %+v", adm)
	}

	// Past the TTL the token is refused.
	offset.Store(int64(2 * time.Hour))
	if adm := admit(h2, "standup", "c3", tok); adm.Verdict != focus.Forbidden {
		t.Fatalf("an expired token was admitted: %+v", adm)
	}
}

func TestStoredTokensDieWithTheirRoom(t *testing.T) {
	st, _ := openBolt(t, filepath.Join(t.TempDir(), "bridge.db"))
	h := newHarness(t, func(c *Config) { c.Tokens = st })
	tok := announced(t, h)
	if adm := h.s.Admit(context.Background(), focus.CallFacts{Room: "standup", CallID: "c1", Token: tok}); adm.Verdict != focus.Accept {
		t.Fatalf("a fresh token was refused: %+v", adm)
	}
	h.s.OnChatEvent(muc.Event{Kind: muc.EventRoomDestroyed, Room: "standup"})
	h.settle(t)
	if _, err := st.Token(context.Background(), "standup", tok); err == nil {
		t.Fatal("the token of a destroyed room is still in the store")
	}
	if adm := h.s.Admit(context.Background(), focus.CallFacts{Room: "standup", CallID: "c2", Token: tok}); adm.Verdict != focus.Forbidden {
		t.Fatalf("the token of a destroyed room was admitted: %+v", adm)
	}
}

func TestMemoryTokensDieWithTheirRoom(t *testing.T) {
	h := newHarness(t, nil)
	tok := announced(t, h)
	h.s.OnChatEvent(muc.Event{Kind: muc.EventRoomDestroyed, Room: "standup"})
	h.settle(t)
	if adm := h.s.Admit(context.Background(), focus.CallFacts{Room: "standup", CallID: "c1", Token: tok}); adm.Verdict != focus.Forbidden {
		t.Fatalf("the token of a destroyed room was admitted: %+v", adm)
	}
}
