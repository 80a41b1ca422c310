package sync_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/sync/synctest"
)

// Acceptance 6 (security), the vCard path: no directory rule, so the only
// thing that can verify a Call-Info impp hint is the hinted user's own
// vCard, fetched by the muc component from Prosody (vcard-temp). Alice
// publishes a vCard listing sip:alice@127.0.0.1 with slixmpp; mallory calls
// with Alice's hint and stays an anonymous phone, Alice calls with it and
// her own occupant shows she is in the audio, with no audio-only occupant.
func TestE2EImppHintVerifiedByVCard(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 50400})
	testpeer.Need(t, "sipp")
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	alice := muctest.NewClient(t, st.Prosody, "alice", "laptop")
	if err := alice.PublishVCard(`<vCard xmlns='vcard-temp'><FN>Alice</FN><NOTE>sip:mallory@127.0.0.1</NOTE>` +
		`<URL>sip:alice@127.0.0.1</URL></vCard>`); err != nil {
		t.Fatal(err)
	}
	if j := alice.Join(roomJID, "alice", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("alice could not join: %s", j.Error)
	}

	// The component fetches what Alice published, and nothing for a user
	// who published none.
	raw, err := st.MUC.VCard(ctx, alice.JID)
	if err != nil || !strings.Contains(string(raw), "sip:alice@127.0.0.1") {
		t.Fatalf("alice's vCard through the component: %q, %v", raw, err)
	}
	if raw, err := st.MUC.VCard(ctx, mod.JID); !errors.Is(err, muc.ErrNoVCard) {
		t.Fatalf("the moderator has no vCard, got %q, %v", raw, err)
	}

	scenario, err := os.ReadFile("testdata/sipp/hint.xml")
	if err != nil {
		t.Fatal(err)
	}
	call := func(user string) chan focustest.SIPpResult {
		done := make(chan focustest.SIPpResult, 1)
		go func() {
			done <- focustest.RunSIPp(t, string(scenario), st.Focus.Addr().String(), 30*time.Second,
				"-s", "standup", "-m", "1", "-key", "user", user, "-key", "hint", "xmpp:"+alice.JID)
		}()
		return done
	}
	finish := func(done chan focustest.SIPpResult) {
		t.Helper()
		select {
		case res := <-done:
			if res.ExitCode != 0 {
				t.Fatalf("sipp: %s", res)
			}
		case <-time.After(45 * time.Second):
			t.Fatal("sipp did not finish")
		}
	}
	audioOnly := func() []string {
		occ, err := st.MUC.Occupants("standup")
		if err != nil {
			t.Fatal(err)
		}
		var nicks []string
		for _, o := range occ {
			if o.AudioOnly {
				nicks = append(nicks, o.Nick)
			}
		}
		return nicks
	}

	// Mallory claims to be Alice; Alice's vCard does not list mallory's
	// address (only in a NOTE, which does not count): an anonymous phone.
	mark := mod.Mark()
	done := call("mallory")
	mod.WaitFor(mark, "mallory as an anonymous phone", phonePresence(roomJID+"/mallory"))
	if nicks := audioOnly(); len(nicks) != 1 || nicks[0] != "mallory" {
		t.Errorf("audio-only occupants during mallory's call: %v, want [mallory]", nicks)
	}
	if _, bound := mod.Poll(mark, time.Second, phonePresence(roomJID+"/alice")); bound {
		t.Fatal("a hint Alice's vCard does not verify bound mallory's call to alice")
	}
	finish(done)
	synctest.WaitFor(t, "mallory's call gone", func() bool { return len(st.Focus.Legs("standup")) == 0 && len(audioOnly()) == 0 })

	// Alice's own address, verified by her vCard: her presence shows her
	// phone and no anonymous occupant appears for it.
	mark = mod.Mark()
	done = call("alice")
	mod.WaitFor(mark, "alice's presence with her phone", phonePresence(roomJID+"/alice"))
	if nicks := audioOnly(); len(nicks) != 0 {
		t.Errorf("alice's verified call also shows audio-only occupants %v", nicks)
	}
	if n := mod.Count(mark, func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Find(muc.NSBridge, "phone") != nil && s.Attr("from") != roomJID+"/alice"
	}); n != 0 {
		t.Errorf("%d phone presences from occupants other than alice during her call", n)
	}
	finish(done)
}
