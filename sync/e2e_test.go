package sync_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	confinfo "cusax.dev/bridge/conference-info"
	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	bsync "cusax.dev/bridge/sync"
	"cusax.dev/bridge/sync/synctest"
)

// e2e starts the whole node for one acceptance test.
func e2e(t *testing.T, o synctest.Options) (*synctest.Stack, context.Context) {
	t.Helper()
	testpeer.Integration(t)
	testpeer.Need(t, "prosody", "baresip")
	testpeer.NeedPythonModule(t, "slixmpp")
	st := synctest.Start(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return st, ctx
}

func toneWAV(t *testing.T, freq float64, seconds int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), fmt.Sprintf("tone%.0f.wav", freq))
	if err := testpeer.WriteWAV(p, 8000, testpeer.Tone(freq, 8000, 8000*seconds, 0.3)); err != nil {
		t.Fatal(err)
	}
	return p
}

func presenceFrom(occupant string) func(*muctest.Stanza) bool {
	return func(s *muctest.Stanza) bool { return s.Name() == "presence" && s.Attr("from") == occupant }
}

func phonePresence(occupant string) func(*muctest.Stanza) bool {
	return func(s *muctest.Stanza) bool {
		return presenceFrom(occupant)(s) && s.Attr("type") == "" && s.Find(muc.NSBridge, "phone") != nil
	}
}

// joinAsModerator makes the room (its creator owns it) with a slixmpp client.
func joinAsModerator(t *testing.T, st *synctest.Stack, room string) *muctest.Client {
	t.Helper()
	mod := muctest.NewClient(t, st.Prosody, "mod", "desk")
	if j := mod.Join(st.RoomJID(room), "mod", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("moderator could not join: %s", j.Error)
	}
	return mod
}

// dialInOf waits for the room's private message with c's personal dial-in.
func dialInOf(t *testing.T, c *muctest.Client, mark int, roomJID string) string {
	t.Helper()
	m := c.WaitFor(mark, "personal dial-in", func(s *muctest.Stanza) bool {
		return s.Name() == "message" && s.Attr("from") == roomJID && strings.Contains(s.Body(), "sip:")
	})
	body := m.Body()
	return strings.Fields(body[strings.Index(body, "sip:"):])[0]
}

// Acceptance 2: an unbound caller appears as an audio-only occupant; the
// moderator kicks it; the call ends with a BYE and the room shows 307.
func TestE2EUnboundCallerKicked(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 46000})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	mark := mod.Mark()
	carol := focustest.StartBaresip(t, focustest.BaresipOptions{User: "carol", Play: toneWAV(t, 700, 60)})
	if err := carol.Dial(ctx, st.RoomURI("standup")); err != nil {
		t.Fatal(err)
	}
	mod.WaitFor(mark, "carol's phone occupant", phonePresence(roomJID+"/carol"))
	synctest.WaitFor(t, "carol connected", func() bool {
		l := st.Focus.Legs("standup")
		return len(l) == 1 && l[0].State == "connected"
	})
	// She plays a tone: the mixer's talk detection shows in her presence.
	mod.WaitFor(mark, "carol talking", func(s *muctest.Stanza) bool {
		return phonePresence(roomJID+"/carol")(s) && s.Find(muc.NSBridge, "phone").Attr("talking") == "true"
	})

	mark = mod.Mark()
	if res := mod.IQ("k1", synctest.AdminIQ("k1", roomJID, `<item nick='carol' role='none'><reason>wrong room</reason></item>`)); res.Attr("type") != "result" {
		t.Fatalf("kick refused: %s", res.Raw)
	}
	gone := mod.WaitFor(mark, "carol's 307", func(s *muctest.Stanza) bool {
		return presenceFrom(roomJID+"/carol")(s) && s.Attr("type") == "unavailable"
	})
	if !gone.HasStatus("307") {
		t.Errorf("kick presence lacks 307: %s", gone.Raw)
	}
	synctest.WaitFor(t, "carol's leg gone", func() bool { return len(st.Focus.Legs("standup")) == 0 })
	// baresip reports a BYE from the far end as "session closed".
	if err := carol.WaitLog(ctx, "session closed"); err != nil {
		t.Errorf("carol's phone did not get a BYE: %v\n%s", err, carol.Log())
	}
}

// bobByToken: bob joins the chat, reads his personal dial-in and calls it
// from a baresip playing play.
func bobByToken(t *testing.T, ctx context.Context, st *synctest.Stack, room, play string) (*muctest.Client, *focustest.Baresip, string) {
	t.Helper()
	roomJID := st.RoomJID(room)
	bob := muctest.NewClient(t, st.Prosody, "bob", "laptop")
	mark := bob.Mark()
	if j := bob.Join(roomJID, "bob", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("bob could not join: %s", j.Error)
	}
	uri := dialInOf(t, bob, mark, roomJID)
	if !strings.HasPrefix(uri, "sip:"+room+"+") {
		t.Fatalf("dial-in %q is not a personal URI of %s", uri, room)
	}
	phone := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bobphone", Play: play})
	if err := phone.Dial(ctx, uri); err != nil {
		t.Fatal(err)
	}
	return bob, phone, uri
}

// Acceptance 3: after a ban, that person's next INVITE gets 403.
func TestE2EBanRefusesTheNextCall(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 46400})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	mark := mod.Mark()
	bob, phone, uri := bobByToken(t, ctx, st, "standup", toneWAV(t, 1000, 60))
	// Bound by the token: his own occupant shows the phone leg.
	mod.WaitFor(mark, "bob's presence with his phone", phonePresence(roomJID+"/bob"))
	if n := mod.Count(mark, phonePresence(roomJID+"/bobphone")); n != 0 {
		t.Fatal("bob's bound call also appeared as an anonymous phone occupant")
	}
	mark = bob.Mark()
	if res := mod.IQ("b1", synctest.AdminIQ("b1", roomJID, `<item jid='`+bob.JID+`' affiliation='outcast'><reason>spam</reason></item>`)); res.Attr("type") != "result" {
		t.Fatalf("ban refused: %s", res.Raw)
	}
	banned := bob.WaitFor(mark, "bob's 301", func(s *muctest.Stanza) bool {
		return presenceFrom(roomJID+"/bob")(s) && s.Attr("type") == "unavailable"
	})
	if !banned.HasStatus("301") {
		t.Errorf("ban presence lacks 301: %s", banned.Raw)
	}
	synctest.WaitFor(t, "bob's leg hung up", func() bool { return len(st.Focus.Legs("standup")) == 0 })
	if err := phone.WaitLog(ctx, "session closed"); err != nil {
		t.Fatalf("bob's phone got no BYE: %v", err)
	}
	if err := phone.Dial(ctx, uri); err != nil {
		t.Fatal(err)
	}
	if err := phone.WaitLog(ctx, "403 Forbidden"); err != nil {
		t.Fatalf("bob's second call was not refused with 403: %v\n%s", err, phone.Log())
	}
	if n := len(st.Focus.Legs("standup")); n != 0 {
		t.Fatalf("banned bob has %d legs", n)
	}
}

// Acceptance 1: Bob (bound by join token) sends 1000 Hz; the moderator
// revokes his voice; Alice's recording has the tone before and not after;
// granting voice brings it back.
func TestE2EVoiceRevokeAndGrant(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 46800})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	alice := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneWAV(t, 440, 60)})
	if err := alice.Dial(ctx, st.RoomURI("standup")); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "alice connected", func() bool {
		l := st.Focus.Legs("standup")
		return len(l) == 1 && l[0].State == "connected"
	})
	start := time.Now() // alice's recording starts about now
	mark := mod.Mark()
	bobByToken(t, ctx, st, "standup", toneWAV(t, 1000, 60))
	mod.WaitFor(mark, "bob's phone", phonePresence(roomJID+"/bob"))
	synctest.WaitFor(t, "bob connected", func() bool {
		n := 0
		for _, l := range st.Focus.Legs("standup") {
			if l.State == "connected" {
				n++
			}
		}
		return n == 2
	})
	time.Sleep(4 * time.Second) // audio flows: the recording is what is checked
	revoke := time.Since(start)
	if res := mod.IQ("v1", synctest.AdminIQ("v1", roomJID, `<item nick='bob' role='visitor'/>`)); res.Attr("type") != "result" {
		t.Fatalf("revoking voice: %s", res.Raw)
	}
	synctest.WaitFor(t, "bob muted by the focus", func() bool {
		for _, l := range st.Focus.Legs("standup") {
			if l.Call.Token != "" {
				return l.Muted
			}
		}
		return false
	})
	time.Sleep(4 * time.Second)
	grant := time.Since(start)
	if res := mod.IQ("v2", synctest.AdminIQ("v2", roomJID, `<item nick='bob' role='participant'/>`)); res.Attr("type") != "result" {
		t.Fatalf("granting voice: %s", res.Raw)
	}
	time.Sleep(4 * time.Second)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "alice's recording", func() bool { return len(alice.Recordings()) > 0 })
	time.Sleep(300 * time.Millisecond) // sndfile closes the file as the call ends
	rate, samples, err := testpeer.ReadWAV(alice.Recordings()[0])
	if err != nil {
		t.Fatal(err)
	}
	window := func(from, to time.Duration) float64 {
		a, b := int(from.Seconds()*float64(rate)), int(to.Seconds()*float64(rate))
		if a < 0 || b > len(samples) || a >= b {
			t.Fatalf("window %v-%v outside the %d-sample recording", from, to, len(samples))
		}
		return testpeer.ToneAmplitude(samples[a:b], 1000, rate)
	}
	// Wide margins: the recording starts about when alice connected, give
	// or take a loaded machine's scheduling.
	before := window(revoke-2500*time.Millisecond, revoke-time.Second)
	during := window(revoke+1200*time.Millisecond, grant-1200*time.Millisecond)
	after := window(grant+1200*time.Millisecond, grant+2700*time.Millisecond)
	t.Logf("1000 Hz in alice's recording: before %.3f, revoked %.3f, granted %.3f", before, during, after)
	if before < 0.05 || after < 0.05 {
		t.Errorf("bob's tone missing while he had voice: before %.3f, after %.3f", before, after)
	}
	if during > before/10 {
		t.Errorf("bob's tone still heard without voice: %.3f (before %.3f)", during, before)
	}
	if v := histogramCount(t, st, "bridge_sync_moderation_seconds"); v < 2 {
		t.Errorf("moderation histogram counted %d, want the revoke and the grant", v)
	}
}

func histogramCount(t *testing.T, st *synctest.Stack, name string) uint64 {
	t.Helper()
	mfs, err := st.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

// Acceptance 4: destroying the room ends every call, and a conference
// watcher gets a terminated NOTIFY.
func TestE2EDestroyEndsEverything(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 47200})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	w := focustest.NewWatcher(t, st.Focus.Addr(), "standup")
	if code, err := w.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE answered %d, %v", code, err)
	}
	var phones []*focustest.Baresip
	for _, u := range []string{"dan", "erin"} {
		p := focustest.StartBaresip(t, focustest.BaresipOptions{User: u, Play: toneWAV(t, 700, 60)})
		if err := p.Dial(ctx, st.RoomURI("standup")); err != nil {
			t.Fatal(err)
		}
		phones = append(phones, p)
	}
	synctest.WaitFor(t, "two connected legs", func() bool {
		n := 0
		for _, l := range st.Focus.Legs("standup") {
			if l.State == "connected" {
				n++
			}
		}
		return n == 2
	})
	if res := mod.IQ("d1", synctest.OwnerIQ("d1", roomJID, `<destroy><reason>meeting over</reason></destroy>`)); res.Attr("type") != "result" {
		t.Fatalf("destroy refused: %s", res.Raw)
	}
	synctest.WaitFor(t, "every leg gone", func() bool { return len(st.Focus.Legs("standup")) == 0 })
	for _, p := range phones {
		if err := p.WaitLog(ctx, "session closed"); err != nil {
			t.Errorf("a phone got no BYE: %v", err)
		}
	}
	w.WaitFor("terminated NOTIFY", func(_ *confinfo.Info, ns []focustest.Notify) bool {
		return len(ns) > 0 && strings.HasPrefix(ns[len(ns)-1].State, "terminated")
	})
}

// Acceptance 5: *6 from baresip shows the self-mute in the occupant's
// presence and in conference-info.
func TestE2ESelfMuteShown(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 47600})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	w := focustest.NewWatcher(t, st.Focus.Addr(), "standup")
	if code, err := w.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE answered %d, %v", code, err)
	}
	mark := mod.Mark()
	fay := focustest.StartBaresip(t, focustest.BaresipOptions{User: "fay", Play: toneWAV(t, 700, 60)})
	if err := fay.Dial(ctx, st.RoomURI("standup")); err != nil {
		t.Fatal(err)
	}
	mod.WaitFor(mark, "fay's phone", phonePresence(roomJID+"/fay"))
	synctest.WaitFor(t, "fay connected", func() bool {
		l := st.Focus.Legs("standup")
		return len(l) == 1 && l[0].State == "connected"
	})
	callID := st.Focus.Legs("standup")[0].CallID
	mark = mod.Mark()
	if _, err := fay.Command(ctx, "sndcode", "*6"); err != nil {
		t.Fatal(err)
	}
	p := mod.WaitFor(mark, "fay's presence muted", func(s *muctest.Stanza) bool {
		if !phonePresence(roomJID + "/fay")(s) {
			return false
		}
		return s.Find(muc.NSBridge, "phone").Attr("muted") == "true"
	})
	if st := p.Find("", "status"); st == nil || !strings.Contains(st.Text, "muted") {
		t.Errorf("fay's status does not say muted: %s", p.Raw)
	}
	// The moderator only chats: conference-info lists it without an endpoint.
	w.WaitFor("the moderator as a chat-only user", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		if doc == nil || doc.Users == nil {
			return false
		}
		for _, u := range doc.Users.User {
			if u.Entity == "xmpp:"+roomJID+"/mod" {
				return len(u.Endpoints) == 0 && u.DisplayText == "mod (moderator)"
			}
		}
		return false
	})
	w.WaitFor("fay recvonly in conference-info", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		_, ep, ok := focustest.Endpoint(doc, callID)
		return ok && len(ep.Media) > 0 && ep.Media[0].Status == "recvonly"
	})
}

// Acceptance 7: a members-only room refuses an unbound caller with 403.
func TestE2EMembersOnlyRefusesAnonymous(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 48000})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	form := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='muc#roomconfig_membersonly'><value>1</value></field></x>`
	if res := mod.IQ("c1", synctest.OwnerIQ("c1", roomJID, form)); res.Attr("type") != "result" {
		t.Fatalf("configuring members-only: %s", res.Raw)
	}
	gus := focustest.StartBaresip(t, focustest.BaresipOptions{User: "gus", Play: toneWAV(t, 700, 60)})
	if err := gus.Dial(ctx, st.RoomURI("standup")); err != nil {
		t.Fatal(err)
	}
	if err := gus.WaitLog(ctx, "403 Forbidden"); err != nil {
		t.Fatalf("anonymous caller not refused with 403: %v\n%s", err, gus.Log())
	}
	if n := len(st.Focus.Legs("standup")); n != 0 {
		t.Fatalf("%d legs in a members-only room", n)
	}
}

// Acceptance 8: a SIP-only phone (SIPp) and an XMPP client (slixmpp) chat
// with each other through the room.
func TestE2EPhoneAndChatClientTalk(t *testing.T) {
	st, _ := e2e(t, synctest.Options{PortMin: 48400})
	testpeer.Need(t, "sipp")
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	scenario, err := os.ReadFile("testdata/sipp/chat.xml")
	if err != nil {
		t.Fatal(err)
	}
	mark := mod.Mark()
	done := make(chan focustest.SIPpResult, 1)
	go func() {
		done <- focustest.RunSIPp(t, string(scenario), st.Focus.Addr().String(), 40*time.Second, "-s", "standup", "-m", "1")
	}()
	if _, ok := mod.Poll(mark, 15*time.Second, phonePresence(roomJID+"/SIPp")); !ok {
		res := <-done
		t.Fatalf("the phone never showed in the room: %s\n%s", res, res.Messages)
	}
	msg := mod.WaitFor(mark, "the phone's message as groupchat", func(s *muctest.Stanza) bool {
		return s.Name() == "message" && s.Attr("type") == "groupchat" && s.Body() == "hello from the phone"
	})
	if msg.Attr("from") != roomJID+"/SIPp" {
		t.Errorf("the phone's message came from %q, want its occupant %s/SIPp", msg.Attr("from"), roomJID)
	}
	mod.Send(`<message to='` + roomJID + `' type='groupchat' id='g1'><body>hello phone</body></message>`)
	select {
	case res := <-done:
		if res.ExitCode != 0 {
			t.Fatalf("the phone did not get the room's message: %s", res)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("sipp did not finish")
	}
}

// Dial-out from chat: a moderator calls a phone into the audio with
// "!dial"; the ringing leg shows in the room and a kick cancels it.
func TestE2EDialOutFromChatKickCancels(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 48800})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	harry := focustest.StartBaresip(t, focustest.BaresipOptions{User: "harry", Play: toneWAV(t, 700, 60)})
	mark := mod.Mark()
	mod.Send(fmt.Sprintf(`<message to='%s' type='groupchat' id='d1'><body>!dial sip:harry@127.0.0.1:%d</body></message>`, roomJID, harry.SIPPort))
	ringing := mod.WaitFor(mark, "harry ringing in the room", func(s *muctest.Stanza) bool {
		if !phonePresence(roomJID + "/harry")(s) {
			return false
		}
		st := s.Find("", "status")
		return st != nil && st.Text == "ringing"
	})
	t.Logf("ringing presence: %s", ringing.Raw)
	if err := harry.WaitLog(ctx, "Incoming call"); err != nil {
		t.Fatalf("harry's phone is not ringing: %v\n%s", err, harry.Log())
	}
	mark = mod.Mark()
	if res := mod.IQ("k2", synctest.AdminIQ("k2", roomJID, `<item nick='harry' role='none'/>`)); res.Attr("type") != "result" {
		t.Fatalf("kick refused: %s", res.Raw)
	}
	gone := mod.WaitFor(mark, "harry's 307", func(s *muctest.Stanza) bool {
		return presenceFrom(roomJID+"/harry")(s) && s.Attr("type") == "unavailable"
	})
	if !gone.HasStatus("307") {
		t.Errorf("kick presence lacks 307: %s", gone.Raw)
	}
	synctest.WaitFor(t, "the dial-out cancelled", func() bool { return len(st.Focus.Legs("standup")) == 0 })
}

// Acceptance 6 (security): a Call-Info impp hint binds only when verified.
// A directory rule maps bob's SIP address to bob's JID: bob's call with the
// hint shows in bob's own presence; mallory's call carrying the same hint
// stays an anonymous phone. TestE2EImppHintVerifiedByVCard covers the
// vCard path.
func TestE2EImppHintVerified(t *testing.T) {
	st, _ := e2e(t, synctest.Options{PortMin: 49600, Sync: func(c *bsync.Config) {
		c.Directory = []bsync.DirectoryRule{{SIP: "sip:bob@127.0.0.1", JID: "bob@example.test"}}
	}})
	testpeer.Need(t, "sipp")
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	bob := muctest.NewClient(t, st.Prosody, "bob", "laptop")
	if j := bob.Join(roomJID, "bob", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("bob could not join: %s", j.Error)
	}
	scenario, err := os.ReadFile("testdata/sipp/hint.xml")
	if err != nil {
		t.Fatal(err)
	}
	call := func(user string) chan focustest.SIPpResult {
		done := make(chan focustest.SIPpResult, 1)
		go func() {
			done <- focustest.RunSIPp(t, string(scenario), st.Focus.Addr().String(), 30*time.Second,
				"-s", "standup", "-m", "1", "-key", "user", user, "-key", "hint", "xmpp:"+bob.JID)
		}()
		return done
	}
	finish := func(done chan focustest.SIPpResult) {
		select {
		case res := <-done:
			if res.ExitCode != 0 {
				t.Fatalf("sipp: %s", res)
			}
		case <-time.After(45 * time.Second):
			t.Fatal("sipp did not finish")
		}
	}

	// Mallory claims to be bob: anonymous phone, bob's presence untouched.
	mark := mod.Mark()
	done := call("mallory")
	mod.WaitFor(mark, "mallory as an anonymous phone", phonePresence(roomJID+"/mallory"))
	if _, bound := mod.Poll(mark, time.Second, phonePresence(roomJID+"/bob")); bound {
		t.Fatal("an unverified hint bound mallory's call to bob")
	}
	finish(done)

	// Bob's own address, verified by the directory: his presence shows it.
	mark = mod.Mark()
	done = call("bob")
	mod.WaitFor(mark, "bob's presence with his phone", phonePresence(roomJID+"/bob"))
	finish(done)
}

// Password-protected room: a caller without a join token is admitted
// muted and hidden until it keys the room password as a DTMF PIN.
func TestE2EPasswordAsDTMFPIN(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 50000})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	form := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field><field var='muc#roomconfig_roomsecret'><value>4711</value></field></x>`
	if res := mod.IQ("c1", synctest.OwnerIQ("c1", roomJID, form)); res.Attr("type") != "result" {
		t.Fatalf("setting a password: %s", res.Raw)
	}
	mark := mod.Mark()
	ivy := focustest.StartBaresip(t, focustest.BaresipOptions{User: "ivy", Play: toneWAV(t, 700, 60)})
	if err := ivy.Dial(ctx, st.RoomURI("standup")); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "ivy connected and muted", func() bool {
		l := st.Focus.Legs("standup")
		return len(l) == 1 && l[0].State == "connected" && l[0].Muted
	})
	if _, shown := mod.Poll(mark, time.Second, phonePresence(roomJID+"/ivy")); shown {
		t.Fatal("ivy shown in the room before giving the PIN")
	}
	if _, err := ivy.Command(ctx, "sndcode", "4711#"); err != nil {
		t.Fatal(err)
	}
	mod.WaitFor(mark, "ivy in the room after the PIN", phonePresence(roomJID+"/ivy"))
	synctest.WaitFor(t, "ivy has voice", func() bool {
		l := st.Focus.Legs("standup")
		return len(l) == 1 && !l[0].Muted
	})
}
