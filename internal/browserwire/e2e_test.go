package browserwire_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	confinfo "cusax.dev/bridge/conference-info"
	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/browsertest"
	"cusax.dev/bridge/internal/browserwire"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	bsync "cusax.dev/bridge/sync"
	"cusax.dev/bridge/sync/synctest"
	"cusax.dev/bridge/web/join"
)

func toneWAV(t *testing.T, freq float64, rate, seconds int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), fmt.Sprintf("tone%.0f-%d.wav", freq, rate))
	if err := testpeer.WriteWAV(p, rate, testpeer.Tone(freq, rate, rate*seconds, 0.3)); err != nil {
		t.Fatal(err)
	}
	return p
}

// pageValue reads a value the join page shows.
func pageValue[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("reading the page (%s): %v", js, err)
	}
	return v
}

// waitPage polls the page until js is true.
func waitPage(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if pageValue[bool](t, ctx, js) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the page never showed %s (%s); status %q, error %q", what, js,
		pageValue[string](t, ctx, `document.getElementById('status').textContent`),
		pageValue[string](t, ctx, `document.getElementById('error').textContent`))
}

func browserEndpoint(doc *confinfo.Info, user string) (confinfo.Endpoint, bool) {
	if doc == nil || doc.Users == nil {
		return confinfo.Endpoint{}, false
	}
	for _, u := range doc.Users.User {
		if u.Entity != user {
			continue
		}
		for _, e := range u.Endpoints {
			if strings.HasPrefix(e.Entity, "urn:cusax:browser:") {
				return e, true
			}
		}
	}
	return confinfo.Endpoint{}, false
}

// TestBrowserJoin is the acceptance 1 to 3 with real peers: a chat
// user (slixmpp) gets a personal browser link, Chromium joins with it and
// sends 1000 Hz while a baresip phone in the room sends 440 Hz. Each hears
// the other and not itself; the occupant's presence and a conference
// watcher show the browser leg; revoking voice mutes it (the phone stops
// hearing 1000 Hz, the page says so) and granting brings it back; a kick
// ends the page's call with the reason and the room shows 307.
func TestBrowserJoin(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody", "baresip")
	testpeer.NeedPythonModule(t, "slixmpp")
	st := synctest.Start(t, synctest.Options{PortMin: 53200, BrowserJoin: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	room := "standup"
	roomJID := st.RoomJID(room)

	mod := muctest.NewClient(t, st.Prosody, "mod", "desk")
	if j := mod.Join(roomJID, "mod", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("moderator could not join: %s", j.Error)
	}
	carol := focustest.StartBaresip(t, focustest.BaresipOptions{User: "carol", Play: toneWAV(t, 440, 8000, 120)})
	if err := carol.Dial(ctx, st.RoomURI(room)); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "carol connected", func() bool {
		l := st.Focus.Legs(room)
		return len(l) == 1 && l[0].State == "connected"
	})
	carolUp := time.Now()
	watcher := focustest.NewWatcher(t, st.Focus.Addr(), room)
	if code, err := watcher.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("conference SUBSCRIBE: %d %v", code, err)
	}

	bob := muctest.NewClient(t, st.Prosody, "bob", "laptop")
	mark := bob.Mark()
	if j := bob.Join(roomJID, "bob", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("bob could not join: %s", j.Error)
	}
	msg := bob.WaitFor(mark, "bob's personal links", func(s *muctest.Stanza) bool {
		return s.Name() == "message" && s.Attr("from") == roomJID && strings.Contains(s.Body(), "/join/")
	})
	body := msg.Body()
	link := strings.Fields(body[strings.Index(body, "http://"):])[0]
	if !strings.HasPrefix(link, st.Web.PublicURL()+"/join/"+room+"#") {
		t.Fatalf("browser link %q is not a personal link to %s on %s", link, room, st.Web.PublicURL())
	}

	page := browsertest.New(t, browsertest.FakeMicrophone(toneWAV(t, 1000, 48000, 120)), browsertest.Autoplay(),
		// Chromium leaves loopback out of WebRTC unless told; the bridge's
		// candidate here is 127.0.0.1.
		browsertest.Flag("allow-loopback-in-peer-connection", true))
	modMark := mod.Mark()
	if err := chromedp.Do(page, chromedp.Navigate(link), chromedp.WaitVisible("#join"), chromedp.Click("#join")); err != nil {
		t.Fatalf("opening the link and joining: %v", err)
	}
	waitPage(t, page, "the call connected", `document.getElementById('status').dataset.state === 'connected'`)

	// Acceptance 3: bob's own presence shows he is in the audio, and a
	// conference watcher sees the browser leg as his endpoint.
	inAudio := mod.WaitFor(modMark, "bob's presence in the audio", func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Attr("from") == roomJID+"/bob" && s.Find(muc.NSBridge, "phone") != nil
	})
	if inAudio.Find(muc.NSBridge, "phone").Attr("via") != "browser" {
		t.Errorf("bob's presence does not say he is in the call from the browser: %s", inAudio.Raw)
	}
	watcher.WaitFor("bob's browser endpoint", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		e, ok := browserEndpoint(doc, "xmpp:bob@"+st.Prosody.Domain)
		return ok && e.Status == confinfo.StatusConnected
	})

	// Acceptance 1: the browser hears the phone's 440 Hz and not itself.
	time.Sleep(3 * time.Second)
	for i := range 5 {
		hz, _ := strconv.Atoi(pageValue[string](t, page, `document.getElementById('hearing').dataset.frequency`))
		if hz < 415 || hz > 465 {
			t.Errorf("sample %d: the page hears mostly %d Hz, want the phone's 440 Hz (and never its own 1000 Hz)", i, hz)
		}
		time.Sleep(300 * time.Millisecond)
	}

	// The page shows who is in the room on both faces, and who talks:
	// carol's phone (talking: she sends a tone), the moderator's chat, and
	// bob himself with his browser.
	waitPage(t, page, "the roster of both faces", `(() => {
		const li = (n) => document.querySelector('#roster li[data-nick="' + n + '"]');
		return li('carol') && li('carol').dataset.audio === 'phone' && li('carol').dataset.talking === 'true' &&
			li('mod') && li('mod').dataset.audio === '' &&
			li('bob') && li('bob').dataset.audio === 'browser' && li('bob').textContent.includes('(you)');
	})()`)

	// The page's own mute button shows on the chat face like a phone's
	// DTMF self-mute, and unmuting takes it back.
	toggleMute := func(what, muted string) {
		t.Helper()
		mark := mod.Mark()
		if err := chromedp.Do(page, chromedp.Click("#mute")); err != nil {
			t.Fatal(err)
		}
		mod.WaitFor(mark, what, func(s *muctest.Stanza) bool {
			ph := s.Find(muc.NSBridge, "phone")
			return s.Name() == "presence" && s.Attr("from") == roomJID+"/bob" && ph != nil && ph.Attr("muted") == muted
		})
	}
	toggleMute("bob's presence self-muted", "true")
	waitPage(t, page, "the button pressed", `document.getElementById('mute').getAttribute('aria-pressed') === 'true'`)
	toggleMute("bob's presence unmuted", "")

	// Acceptance 2: voice revoked, then granted.
	revoke := time.Now()
	if res := mod.IQ("v1", synctest.AdminIQ("v1", roomJID, `<item nick='bob' role='visitor'/>`)); res.Attr("type") != "result" {
		t.Fatalf("revoking voice: %s", res.Raw)
	}
	waitPage(t, page, "muted by a moderator", `!document.getElementById('moderated').hidden`)
	watcher.WaitFor("bob's endpoint muted", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		e, ok := browserEndpoint(doc, "xmpp:bob@"+st.Prosody.Domain)
		return ok && e.Status == confinfo.StatusMutedViaFocus
	})
	time.Sleep(4 * time.Second)
	grant := time.Now()
	if res := mod.IQ("v2", synctest.AdminIQ("v2", roomJID, `<item nick='bob' role='participant'/>`)); res.Attr("type") != "result" {
		t.Fatalf("granting voice: %s", res.Raw)
	}
	waitPage(t, page, "voice back", `document.getElementById('moderated').hidden`)
	time.Sleep(4 * time.Second)

	// The kick: the page ends its call with the reason; the room shows 307.
	modMark = mod.Mark()
	if res := mod.IQ("k1", synctest.AdminIQ("k1", roomJID, `<item nick='bob' role='none'><reason>meeting over</reason></item>`)); res.Attr("type") != "result" {
		t.Fatalf("kick refused: %s", res.Raw)
	}
	gone := mod.WaitFor(modMark, "bob's 307", func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Attr("from") == roomJID+"/bob" && s.Attr("type") == "unavailable"
	})
	if !gone.HasStatus("307") {
		t.Errorf("kick presence lacks 307: %s", gone.Raw)
	}
	waitPage(t, page, "the call ended", `document.getElementById('status').dataset.state === 'ended'`)
	if e := pageValue[string](t, page, `document.getElementById('error').textContent`); !strings.Contains(e, "removed by a moderator") {
		t.Errorf("the page says %q after the kick, want it to say a moderator removed it", e)
	}
	watcher.WaitFor("bob's endpoint gone", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		_, ok := browserEndpoint(doc, "xmpp:bob@"+st.Prosody.Domain)
		return !ok
	})
	synctest.WaitFor(t, "no browser leg left", func() bool { return len(st.Web.Legs("")) == 0 })

	// What carol heard, in windows around the moderation.
	if err := carol.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "carol's recording", func() bool { return len(carol.Recordings()) > 0 })
	time.Sleep(300 * time.Millisecond)
	rate, samples, err := testpeer.ReadWAV(carol.Recordings()[0])
	if err != nil {
		t.Fatal(err)
	}
	window := func(from, to time.Time, hz float64) float64 {
		a, b := int(from.Sub(carolUp).Seconds()*float64(rate)), int(to.Sub(carolUp).Seconds()*float64(rate))
		if a < 0 || b > len(samples) || a >= b {
			t.Fatalf("window outside the %d-sample recording", len(samples))
		}
		return testpeer.ToneAmplitude(samples[a:b], hz, rate)
	}
	before := window(revoke.Add(-2500*time.Millisecond), revoke.Add(-time.Second), 1000)
	during := window(revoke.Add(1500*time.Millisecond), grant.Add(-time.Second), 1000)
	after := window(grant.Add(1500*time.Millisecond), grant.Add(3000*time.Millisecond), 1000)
	self := window(revoke.Add(-2500*time.Millisecond), revoke.Add(-time.Second), 440)
	t.Logf("1000 Hz in carol's recording: before %.3f, revoked %.3f, granted %.3f; her own 440 Hz %.3f", before, during, after, self)
	// Chromium's noise suppression damps a steady tone to about a tenth;
	// what counts is heard with voice, gone without.
	if before < 0.015 || after < 0.015 {
		t.Errorf("the browser's 1000 Hz is missing at the phone while it had voice: before %.3f, after %.3f", before, after)
	}
	if during > before/10 {
		t.Errorf("the browser's tone still reached the phone without voice: %.3f (before %.3f)", during, before)
	}
	if self > 0.02 {
		t.Errorf("carol hears her own 440 Hz at %.3f", self)
	}
}

// TestBrowserForgedToken is acceptance 4: a forged token gets 403 and no
// media leg is made; an anonymous join without a nick is a 400.
func TestBrowserForgedToken(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody")
	st := synctest.Start(t, synctest.Options{PortMin: 53600, BrowserJoin: true})
	offer := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
	post := func(auth, query string) *http.Response {
		req, _ := http.NewRequest("POST", st.Web.PublicURL()+"/whip/standup"+query, strings.NewReader(offer))
		req.Header.Set("Content-Type", "application/sdp")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("aaaaaaaaaaaaaaaa", ""); res.StatusCode != http.StatusForbidden {
		t.Errorf("a forged token got %d, want 403", res.StatusCode)
	}
	if res := post("", ""); res.StatusCode != http.StatusBadRequest {
		t.Errorf("an anonymous join without a nick got %d, want 400", res.StatusCode)
	}
	if n := len(st.Web.Legs("")); n != 0 {
		t.Errorf("%d browser legs after refused joins, want none", n)
	}
	if n := testpeer.Metric(t, st.Registry, "bridge_mixer_legs"); n != 0 {
		t.Errorf("the mixer holds %v legs after refused joins, want none (no media port used)", n)
	}
}

// TestBrowserRefusals: the page says clearly why it cannot join: a
// password room asks for the password and says when it is wrong (then
// admits the right one, shown in the room as an audio-only occupant under
// the typed name), and a banned person's personal link is refused as
// banned.
func TestBrowserRefusals(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody")
	testpeer.NeedPythonModule(t, "slixmpp")
	st := synctest.Start(t, synctest.Options{PortMin: 54800, BrowserJoin: true})
	room := "locked"
	roomJID := st.RoomJID(room)
	mod := muctest.NewClient(t, st.Prosody, "mod", "desk")
	if j := mod.Join(roomJID, "mod", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("moderator could not join: %s", j.Error)
	}
	form := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field><field var='muc#roomconfig_roomsecret'><value>2468</value></field></x>`
	if res := mod.IQ("c1", synctest.OwnerIQ("c1", roomJID, form)); res.Attr("type") != "result" {
		t.Fatalf("configuring the password: %s", res.Raw)
	}
	page := browsertest.New(t, browsertest.FakeMicrophone(toneWAV(t, 1000, 48000, 60)), browsertest.Autoplay(),
		browsertest.Flag("allow-loopback-in-peer-connection", true))
	errorShows := func(what, text string) {
		t.Helper()
		waitPage(t, page, what, `document.getElementById('error').textContent.includes(`+strconv.Quote(text)+`)`)
	}
	if err := chromedp.Do(page, chromedp.Navigate(st.Web.PublicURL()+"/join/"+room), chromedp.WaitVisible("#nick"),
		chromedp.SendKeys("#nick", "Zoe"), chromedp.Click("#join")); err != nil {
		t.Fatal(err)
	}
	errorShows("the password asked for", "This room has a password")
	if err := chromedp.Do(page, chromedp.WaitVisible("#password"), chromedp.SendKeys("#password", "1111"), chromedp.Click("#join")); err != nil {
		t.Fatal(err)
	}
	errorShows("the wrong password", "Wrong password")
	if n := len(st.Web.Legs("")); n != 0 {
		t.Fatalf("%d browser legs after refusals, want none", n)
	}
	modMark := mod.Mark()
	if err := chromedp.Do(page, chromedp.SetValue("#password", "2468"), chromedp.Click("#join")); err != nil {
		t.Fatal(err)
	}
	waitPage(t, page, "the call connected", `document.getElementById('status').dataset.state === 'connected'`)
	zoe := mod.WaitFor(modMark, "Zoe as an audio-only occupant", func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Attr("from") == roomJID+"/Zoe" && s.Find(muc.NSBridge, "phone") != nil
	})
	if zoe.Find(muc.NSBridge, "phone").Attr("via") != "browser" {
		t.Errorf("Zoe's occupant is not marked as a browser leg: %s", zoe.Raw)
	}
	if err := chromedp.Do(page, chromedp.Click("#leave")); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "Zoe's leg gone", func() bool { return len(st.Web.Legs("")) == 0 })

	// A banned person's own link: refused as banned.
	bob := muctest.NewClient(t, st.Prosody, "bob", "laptop")
	mark := bob.Mark()
	if j := bob.Join(roomJID, "bob", muctest.JoinOptions{Password: "2468"}); !j.OK {
		t.Fatalf("bob could not join: %s", j.Error)
	}
	msg := bob.WaitFor(mark, "bob's personal links", func(s *muctest.Stanza) bool {
		return s.Name() == "message" && s.Attr("from") == roomJID && strings.Contains(s.Body(), "/join/")
	})
	link := strings.Fields(msg.Body()[strings.Index(msg.Body(), "http://"):])[0]
	ban := `<item affiliation='outcast' jid='bob@` + st.Prosody.Domain + `'><reason>no</reason></item>`
	if res := mod.IQ("b1", synctest.AdminIQ("b1", roomJID, ban)); res.Attr("type") != "result" {
		t.Fatalf("ban refused: %s", res.Raw)
	}
	// The link differs from the open page by its fragment only: leave it
	// first, or the browser just scrolls.
	if err := chromedp.Do(page, chromedp.Navigate("about:blank"), chromedp.Navigate(link), chromedp.WaitVisible("#join"), chromedp.Click("#join")); err != nil {
		t.Fatal(err)
	}
	errorShows("the ban", "You are banned from this room")
	if n := len(st.Web.Legs("")); n != 0 {
		t.Errorf("%d browser legs after a banned join, want none", n)
	}

	// A full room (its limit covers both faces: the moderator fills it).
	limit := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='muc#roomconfig_maxusers'><value>1</value></field></x>`
	if res := mod.IQ("c2", synctest.OwnerIQ("c2", roomJID, limit)); res.Attr("type") != "result" {
		t.Fatalf("setting the room's limit: %s", res.Raw)
	}
	if err := chromedp.Do(page, chromedp.Navigate(st.Web.PublicURL()+"/join/"+room), chromedp.WaitVisible("#nick"),
		chromedp.SendKeys("#nick", "Yan"), chromedp.Click("#join")); err != nil {
		t.Fatal(err)
	}
	// Full comes before the password: nobody gets to try it.
	errorShows("the room full", "The room is full: room full: at most 1 participants")

	// Destroying the room ends a browser's call, and the page says so.
	unlimit := strings.Replace(limit, "<value>1</value>", "<value>0</value>", 1)
	if res := mod.IQ("c3", synctest.OwnerIQ("c3", roomJID, unlimit)); res.Attr("type") != "result" {
		t.Fatalf("lifting the room's limit: %s", res.Raw)
	}
	if err := chromedp.Do(page, chromedp.SendKeys("#password", "2468"), chromedp.Click("#join")); err != nil {
		t.Fatal(err)
	}
	waitPage(t, page, "the call connected", `document.getElementById('status').dataset.state === 'connected'`)
	if res := mod.IQ("d1", synctest.OwnerIQ("d1", roomJID, `<destroy><reason>meeting over</reason></destroy>`)); res.Attr("type") != "result" {
		t.Fatalf("destroying the room: %s", res.Raw)
	}
	waitPage(t, page, "the call ended", `document.getElementById('status').dataset.state === 'ended'`)
	errorShows("why it ended", "the room was closed")
	synctest.WaitFor(t, "no browser leg left", func() bool { return len(st.Web.Legs("")) == 0 })
}

// TestBrowserWithoutMicrophone: a browser that gives the page no
// microphone, because it has none or because the person said no, is told
// which, and nothing is asked of the room.
func TestBrowserWithoutMicrophone(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody")
	st := synctest.Start(t, synctest.Options{PortMin: 55600, BrowserJoin: true})
	for _, tc := range []struct {
		name  string
		flags []browsertest.Option
		want  string
	}{
		{"no microphone", []browsertest.Option{browsertest.Flag("deny-permission-prompts", true)}, "No microphone available"},
		{"permission denied", []browsertest.Option{browsertest.Flag("use-fake-device-for-media-stream", true),
			browsertest.Flag("deny-permission-prompts", true)}, "Microphone denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := browsertest.New(t, tc.flags...)
			if err := chromedp.Do(page, chromedp.Navigate(st.Web.PublicURL()+"/join/standup"), chromedp.WaitVisible("#nick"),
				chromedp.SendKeys("#nick", "Uma"), chromedp.Click("#join")); err != nil {
				t.Fatal(err)
			}
			waitPage(t, page, "why it cannot join", `document.getElementById('error').textContent.includes(`+strconv.Quote(tc.want)+`)`)
			if n := len(st.Web.Legs("")); n != 0 {
				t.Errorf("%d browser legs without a microphone, want none", n)
			}
		})
	}
}

// TestBrowserBridgeUnreachable: a page whose bridge went away says so when
// the person tries to join.
func TestBrowserBridgeUnreachable(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "prosody")
	st := synctest.Start(t, synctest.Options{PortMin: 56000})
	var sy atomic.Pointer[bsync.Sync]
	sy.Store(st.Sync)
	srv, err := join.New(join.Config{Listen: "127.0.0.1:0", RTPAddress: netip.MustParseAddr("127.0.0.1"), UDPPort: 56399,
		Media: st.Mixer, Gate: browserwire.NewGate(&sy, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	page := browsertest.New(t, browsertest.FakeMicrophone(toneWAV(t, 1000, 48000, 10)))
	if err := chromedp.Do(page, chromedp.Navigate(srv.PublicURL()+"/join/standup"), chromedp.WaitVisible("#nick"),
		chromedp.SendKeys("#nick", "Uma")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(page, chromedp.Click("#join")); err != nil {
		t.Fatal(err)
	}
	waitPage(t, page, "the bridge unreachable", `document.getElementById('error').textContent.includes("The bridge is unreachable")`)
}
