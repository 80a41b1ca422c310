package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/browsertest"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/sync/synctest"
	"cusax.dev/bridge/web/admin"
)

// Issue 17's acceptance with real peers: the real binary beside Prosody,
// baresip phones and a slixmpp chat user, the dashboard in real Chromium.

const adminToken = "operator-s3cret"

// operatorNode is one bridge with the admin API behind a token.
type operatorNode struct {
	bin, http, sip, tokenFile string
	proc                      *bridgeProcess
	prosody                   *muctest.Prosody
}

func startOperatorNode(t *testing.T, ctx context.Context, extra ...string) *operatorNode {
	t.Helper()
	bin := bridgeBinary(t)
	testpeer.Need(t, "prosody", "baresip")
	testpeer.NeedPythonModule(t, "slixmpp")
	n := &operatorNode{bin: bin, prosody: muctest.NewProsody(t, muctest.ProsodyConfig{})}
	n.tokenFile = writeTokenFile(t)
	sipPort := testpeer.FreeUDPPort(t)
	n.sip = fmt.Sprintf("127.0.0.1:%d", sipPort)
	n.http = fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t))
	rtpLow := 30000 + 2*(sipPort%4000)
	n.proc = startBridge(t, bin, cleanEnv("BRIDGE_XMPP_SECRET="+n.prosody.ComponentSecret), append([]string{
		"--sip-listen", n.sip,
		"--sip-domain", "127.0.0.1",
		"--rtp-ports", fmt.Sprintf("%d-%d", rtpLow, rtpLow+99),
		"--http-listen", n.http,
		"--data-dir", t.TempDir(),
		"--xmpp-component", n.prosody.ComponentAddr,
		"--xmpp-domain", n.prosody.Components[0],
		"--node-id", "ops",
		"--admin-token-file", n.tokenFile,
		"--log-level", "debug",
	}, extra...)...)
	if err := waitHTTP(ctx, "http://"+n.http+"/readyz", 200); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return n
}

// writeTokenFile writes adminToken as --admin-token-file reads it.
func writeTokenFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(p, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (n *operatorNode) roomJID(room string) string { return room + "@" + n.prosody.Components[0] }

// openDashboard opens the node's dashboard in Chromium with the token.
func openDashboard(t *testing.T, ctx context.Context, httpAddr string) context.Context {
	t.Helper()
	bctx := browsertest.New(t)
	bctx, cancel := context.WithTimeout(bctx, time.Until(deadlineOf(ctx)))
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx, chromedp.Navigate("http://"+httpAddr+"/#token="+adminToken)); err != nil {
		t.Fatal(err)
	}
	return bctx
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(2 * time.Minute)
}

// rowJS is the dashboard's table row of nick in room.
func rowJS(room, nick string) string {
	return fmt.Sprintf(`document.querySelector('section[data-room=%q] tr[data-nick=%q]')`, room, nick)
}

func click(t *testing.T, bctx context.Context, room, nick, action string) {
	t.Helper()
	sel := fmt.Sprintf(`section[data-room=%q] tr[data-nick=%q] button[data-action=%q]`, room, nick, action)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("clicking %s on %s: %v", action, nick, err)
	}
	if action == "kick" || action == "ban" {
		// The dashboard asks before what cannot be undone: a second click.
		browsertest.WaitTrue(t, bctx, action+" asking again", fmt.Sprintf(`document.querySelector(%q).dataset.armed === "true"`, sel))
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("confirming %s on %s: %v", action, nick, err)
		}
	}
	browsertest.WaitTrue(t, bctx, action+"'s outcome on the page",
		fmt.Sprintf(`document.getElementById("status").textContent === %q`, fmt.Sprintf("%s %s in %s: done", action, nick, room)))
}

// Acceptance 1-3: a phone and a chat user in one room on the dashboard,
// talking shown live; mute and kick from the dashboard reach both faces;
// a wrong token gets 401 and `bridge rooms --output json` lists the room.
func TestOperatorsDashboard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n := startOperatorNode(t, ctx)
	room := n.roomJID("standup")
	alice := muctest.NewClient(t, n.prosody, "alice", "desk")
	bctx := openDashboard(t, ctx, n.http)
	browsertest.WaitTrue(t, bctx, "the dashboard live", `document.getElementById("live").dataset.live === "true"`)
	joinRoom(t, alice, room, "Alice")
	joined := time.Now()
	browsertest.WaitTrue(t, bctx, "Alice in the chat face", rowJS("standup", "Alice")+`?.dataset.faces === "chat"`)
	t.Logf("Alice on the dashboard %v after her join was answered", time.Since(joined).Round(time.Millisecond))

	carol := focustest.StartBaresip(t, focustest.BaresipOptions{User: "carol", Play: toneFile(t, 440)})
	if err := carol.Dial(ctx, "sip:standup@"+n.sip); err != nil {
		t.Fatal(err)
	}
	if err := carol.WaitLog(ctx, "Call established"); err != nil {
		t.Fatalf("carol's call: %v\n%s", err, carol.Log())
	}
	bob := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneFile(t, 1000)})
	mark := alice.Mark()
	if err := bob.Dial(ctx, "sip:standup@"+n.sip); err != nil {
		t.Fatal(err)
	}
	if err := bob.WaitLog(ctx, "Call established"); err != nil {
		t.Fatalf("bob's call: %v\n%s", err, bob.Log())
	}
	established := time.Now()
	browsertest.WaitTrue(t, bctx, "bob's phone on the dashboard", rowJS("standup", "bob")+`?.dataset.faces === "phone"`)
	t.Logf("bob on the dashboard %v after his call was established", time.Since(established).Round(time.Millisecond))
	browsertest.WaitTrue(t, bctx, "bob talking", rowJS("standup", "bob")+`.dataset.talking === "true"`)
	alice.WaitFor(mark, "bob's phone occupant", phoneOccupant(room+"/bob"))
	waitTone(t, carol, 1000, true, "carol hears bob before the mute")

	// Mute from the dashboard: voice revoked in the MUC, out of the mix.
	mark = alice.Mark()
	click(t, bctx, "standup", "bob", "mute")
	alice.WaitFor(mark, "bob without voice", func(s *muctest.Stanza) bool {
		it := s.Find("", "item")
		return phoneOccupant(room+"/bob")(s) && it != nil && it.Attr("role") == "visitor"
	})
	waitTone(t, carol, 1000, false, "carol no longer hears bob after the mute")
	browsertest.WaitTrue(t, bctx, "bob shown muted", rowJS("standup", "bob")+`.dataset.muted === "true"`)

	// Kick from the dashboard: 307 in the room, BYE to the phone.
	mark = alice.Mark()
	click(t, bctx, "standup", "bob", "kick")
	gone := alice.WaitFor(mark, "bob's kick", func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Attr("from") == room+"/bob" && s.Attr("type") == "unavailable"
	})
	if !gone.HasStatus("307") {
		t.Errorf("the kick's presence lacks status 307: %s", gone.Raw)
	}
	if err := bob.WaitLog(ctx, "session closed"); err != nil {
		t.Errorf("bob's phone got no BYE: %v\n%s", err, bob.Log())
	}
	browsertest.WaitTrue(t, bctx, "bob gone from the dashboard", rowJS("standup", "bob")+` === null`)

	// The API with a wrong token touches nothing.
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+n.http+admin.Prefix+"rooms/standup/participants/carol/kick", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("kick with a wrong token = %d, want 401", resp.StatusCode)
	}
	cmd := exec.CommandContext(ctx, n.bin, "rooms", "--output", "json", "--http-listen", n.http,
		"--admin-token-file", n.tokenFile, "--data-dir", t.TempDir())
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bridge rooms --output json: %v\n%s", err, out)
	}
	var listed struct{ Rooms []admin.Room }
	if err := json.Unmarshal(out, &listed); err != nil {
		t.Fatalf("bridge rooms --output json printed no JSON: %v\n%s", err, out)
	}
	faces := map[string]string{}
	for _, r := range listed.Rooms {
		if r.Name != "standup" {
			continue
		}
		if r.Node != "ops" {
			t.Errorf("standup's node = %q, want ops (--node-id)", r.Node)
		}
		if r.Security != "plain" {
			t.Errorf("standup's security = %q, want plain (UDP signalling, RTP)", r.Security)
		}
		for _, p := range r.Participants {
			faces[p.Nick] = strings.Join(p.Faces, "+")
			for _, l := range p.Legs {
				if l.Signalling != "plain" || l.Media != "rtp" || l.Security != "plain" {
					t.Errorf("%s's call security = %s/%s/%s, want plain/rtp/plain", p.Nick, l.Signalling, l.Media, l.Security)
				}
			}
		}
	}
	if faces["Alice"] != "chat" || faces["carol"] != "phone" || faces["bob"] != "" {
		t.Errorf("bridge rooms lists standup with %v, want Alice (chat) and carol (phone), bob kicked", faces)
	}
	for _, action := range []string{"mute", "kick"} {
		if c := auditLines(n.proc.logs.String(), "action="+action+" face=api", "target=bob outcome=done"); c != 1 {
			t.Errorf("audit lines for the API's %s of bob: %d, want 1", action, c)
		}
	}

	// A ban from the CLI: status 301 for the person, by their JID.
	frank := muctest.NewClient(t, n.prosody, "frank", "laptop")
	joinRoom(t, frank, room, "frank")
	mark = alice.Mark()
	cmd = exec.CommandContext(ctx, n.bin, "room", "ban", "standup", "frank", "--reason", "spam",
		"--http-listen", n.http, "--admin-token-file", n.tokenFile, "--data-dir", t.TempDir())
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ban frank in standup: done" {
		t.Errorf("bridge room ban = %v %q, want \"ban frank in standup: done\"", err, out)
	}
	banned := alice.WaitFor(mark, "frank's ban", func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Attr("from") == room+"/frank" && s.Attr("type") == "unavailable"
	})
	if !banned.HasStatus("301") {
		t.Errorf("the ban's presence lacks status 301: %s", banned.Raw)
	}

	// A moderator's own action in the room is audited as the MUC's.
	setVoice(t, alice, room, "carol", false, "v1")
	synctest.WaitFor(t, "the audit line of Alice's mute", func() bool {
		return auditLines(n.proc.logs.String(), `action=mute face=muc actor="Alice (alice@example.test)" room=standup target=carol outcome=done`) == 1
	})
	// And a caller's own mute by DTMF (*6).
	if _, err := carol.Command(ctx, "sndcode", "*6"); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "the audit line of carol's *6", func() bool {
		return auditLines(n.proc.logs.String(), "action=self-mute face=dtmf actor=carol room=standup target=carol outcome=done") == 1
	})
	// A dial-out from the dashboard: the phone rings, answers, and shows.
	dave := focustest.StartBaresip(t, focustest.BaresipOptions{User: "dave", AutoAnswer: true, Play: toneFile(t, 700)})
	daveURI := fmt.Sprintf("sip:dave@127.0.0.1:%d", dave.SIPPort)
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`input[data-field="dial standup"]`), daveURI),
		chromedp.Click(chromedp.CSS(`section[data-room="standup"] button[data-action="dial"]`)),
	); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, bctx, "the dial's outcome", fmt.Sprintf(`document.getElementById("status").textContent === %q`, "dial "+daveURI+" into standup: done"))
	if err := dave.WaitLog(ctx, "Call established"); err != nil {
		t.Fatalf("dave's phone did not answer the dial-out: %v\n%s", err, dave.Log())
	}
	browsertest.WaitTrue(t, bctx, "dave's phone on the dashboard", rowJS("standup", "dave")+`?.dataset.faces === "phone"`)

	// End the room from the dashboard: the chat room is destroyed and the
	// remaining calls get a BYE.
	mark = alice.Mark()
	offset := len(carol.Log())
	daveOffset := len(dave.Log())
	endSel := `section[data-room="standup"] button[data-action="end"]`
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(endSel))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, bctx, "End room asking again", fmt.Sprintf(`document.querySelector(%q).dataset.armed === "true"`, endSel))
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(endSel))); err != nil {
		t.Fatal(err)
	}
	alice.WaitFor(mark, "the room's destruction", func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Attr("type") == "unavailable" && s.Find("", "destroy") != nil
	})
	if _, err := logAfter(ctx, carol, offset, "session closed"); err != nil {
		t.Errorf("carol's phone got no BYE when the room ended: %v\n%s", err, carol.Log())
	}
	if _, err := logAfter(ctx, dave, daveOffset, "session closed"); err != nil {
		t.Errorf("dave's phone got no BYE when the room ended: %v\n%s", err, dave.Log())
	}
	browsertest.WaitTrue(t, bctx, "standup gone from the dashboard", `document.querySelector('section[data-room="standup"]') === null`)
	logs := n.proc.logs.String()
	if c := auditLines(logs, "action=ban face=api", `target="frank (frank@example.test)"`, "reason=spam"); c != 1 {
		t.Errorf("audit lines for the ban of frank: %d, want 1", c)
	}
	if c := auditLines(logs, "action=dial face=api", "target="+daveURI, "outcome=done"); c != 1 {
		t.Errorf("audit lines for the dial-out: %d, want 1", c)
	}
	if c := auditLines(logs, "action=end face=api", "room=standup target=standup outcome=done"); c != 1 {
		t.Errorf("audit lines for the end of standup: %d, want 1", c)
	}
}

// Acceptance 4: a room limited to two participants (from the CLI) refuses
// the third caller with 486 and a reason; its chat occupant counts. The
// node's own limit (--max-calls 2) refuses a third call anywhere with 503.
func TestRoomLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	web := fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t))
	n := startOperatorNode(t, ctx, "--max-calls", "2", "--web-listen", web)
	room := n.roomJID("small")
	alice := muctest.NewClient(t, n.prosody, "alice", "desk")
	joinRoom(t, alice, room, "Alice")
	// The limit set from the CLI is the chat room's own setting.
	cmd := exec.CommandContext(ctx, n.bin, "room", "limit", "small", "2",
		"--http-listen", n.http, "--admin-token-file", n.tokenFile, "--data-dir", t.TempDir())
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "limits small to max 2 participants: done" {
		t.Fatalf("bridge room limit small 2 = %v %q", err, out)
	}
	form := roomConfig(t, alice, room, "c1")
	if v, _ := form.FieldValue("muc#roomconfig_maxusers"); v != "2" {
		t.Fatalf("muc#roomconfig_maxusers = %q after the limit, want 2", v)
	}
	first := focustest.NewRawPhone(t, n.addrPort())
	if res := first.Call("small").Invite("", focustest.Offer(int(first.Addr().Port())+2, "0")); res.StatusCode != 200 {
		t.Fatalf("the second participant's call = %d %s, want 200", res.StatusCode, res.Reason)
	}
	second := focustest.NewRawPhone(t, n.addrPort())
	res := second.Call("small").Invite("", focustest.Offer(int(second.Addr().Port())+2, "0"))
	if res.StatusCode != 486 || !strings.Contains(res.Reason, "room full: at most 2 participants") {
		t.Errorf("the third participant's call = %d %q, want 486 naming the room's limit", res.StatusCode, res.Reason)
	}
	if res := second.Call("other").Invite("", focustest.Offer(int(second.Addr().Port())+2, "0")); res.StatusCode != 200 {
		t.Fatalf("the node's second call = %d %s, want 200", res.StatusCode, res.Reason)
	}
	third := focustest.NewRawPhone(t, n.addrPort())
	res = third.Call("other").Invite("", focustest.Offer(int(third.Addr().Port())+2, "0"))
	if res.StatusCode != 503 || !strings.Contains(res.Reason, "node full: 2 calls") {
		t.Errorf("the node's third call = %d %q, want 503 naming --max-calls", res.StatusCode, res.Reason)
	}
	// A browser counts against --max-calls as a phone does.
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
	hres, err := http.Post("http://"+web+"/whip/other?nick=zoe", "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hres.Body)
	hres.Body.Close()
	if hres.StatusCode != 503 || !strings.Contains(string(body), "node full: 2 calls") {
		t.Errorf("a browser joining a full node = %d %q, want 503 naming --max-calls", hres.StatusCode, body)
	}
}

func (n *operatorNode) addrPort() netip.AddrPort { return netip.MustParseAddrPort(n.sip) }

// auditLines counts the audit log lines holding every one of parts.
func auditLines(logs string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, " msg=audit ") {
			continue
		}
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// Acceptance 5: on two nodes sharing Redis, the dashboard of either node
// shows a room whose audio the other node mixes, and a kick from it ends
// that call there. node-1 holds the component link, so node-1's kick is
// its own MUC's and node-2's goes to node-1 over Redis; each BYE is sent by
// the room's owner.
func TestOperatorsTwoNodes(t *testing.T) {
	c := newCluster(t)
	tokenFile := writeTokenFile(t)
	c.extra = []string{"--admin-token-file", tokenFile}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nodes := c.startNodes(ctx, 2)
	n1, n2 := nodes[0], nodes[1]
	if holder := c.linkHolder(ctx); holder != n1 {
		t.Fatalf("the component link is on %s, want node-1 (started first)", holder.id)
	}
	alice := muctest.NewClient(t, c.prosody, "alice", "desk")
	for _, tc := range []struct {
		viewer, owner *clusterNode
		phone         string
	}{
		{viewer: n1, owner: n2, phone: "dan"},
		{viewer: n2, owner: n1, phone: "eve"},
	} {
		room := roomPlacedOn(t, tc.owner.id, n1.id, n2.id)
		roomJID := c.roomJID(room)
		joinRoom(t, alice, roomJID, "Alice")
		phone := focustest.StartBaresip(t, focustest.BaresipOptions{User: tc.phone, Play: toneFile(t, 700)})
		mark := alice.Mark()
		dialUntilUp(ctx, t, phone, tc.viewer.uri(room)) // redirected to the owner
		alice.WaitFor(mark, tc.phone+"'s phone occupant", phoneOccupant(roomJID+"/"+tc.phone))
		waitMetric(t, ctx, tc.owner.http, "bridge_focus_dialogs_active", func(v float64) bool { return v == 1 })

		bctx := openDashboard(t, ctx, tc.viewer.http)
		browsertest.WaitTrue(t, bctx, room+" owned by "+tc.owner.id+" on "+tc.viewer.id+"'s dashboard",
			fmt.Sprintf(`document.querySelector('section[data-room=%q]')?.dataset.node === %q && `, room, tc.owner.id)+
				rowJS(room, tc.phone)+`?.dataset.faces === "phone" && `+rowJS(room, "Alice")+`?.dataset.faces === "chat"`)
		// The owner's calls are shown too: the phone's tone lights its row.
		browsertest.WaitTrue(t, bctx, tc.phone+" talking, seen from "+tc.viewer.id, rowJS(room, tc.phone)+`.dataset.talking === "true"`)
		mark = alice.Mark()
		offset := len(phone.Log())
		click(t, bctx, room, tc.phone, "kick")
		gone := alice.WaitFor(mark, tc.phone+"'s kick", func(s *muctest.Stanza) bool {
			return s.Name() == "presence" && s.Attr("from") == roomJID+"/"+tc.phone && s.Attr("type") == "unavailable"
		})
		if !gone.HasStatus("307") {
			t.Errorf("the kick's presence lacks status 307: %s", gone.Raw)
		}
		if _, err := logAfter(ctx, phone, offset, "session closed"); err != nil {
			t.Errorf("%s's phone got no BYE after a kick from %s: %v\n%s", tc.phone, tc.viewer.id, err, phone.Log())
		}
		waitMetric(t, ctx, tc.owner.http, "bridge_focus_dialogs_active", func(v float64) bool { return v == 0 })
		if got := auditLines(tc.viewer.proc.logs.String(), "action=kick face=api", "room="+room, "outcome=done"); got != 1 {
			t.Errorf("%s logged %d audit lines for the kick, want 1", tc.viewer.id, got)
		}
	}

	// node-2 does not hold the link: its limit and end of a room are
	// carried out by node-1's MUC, and it hears the outcome.
	room := roomPlacedOn(t, n1.id, n1.id, n2.id)
	roomJID := c.roomJID(room)
	cmd := exec.CommandContext(ctx, c.bin, "room", "limit", room, "5", "--http-listen", n2.http,
		"--admin-token-file", tokenFile, "--data-dir", t.TempDir())
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bridge room limit on node-2: %v\n%s", err, out)
	}
	form := roomConfig(t, alice, roomJID, "c2")
	if v, _ := form.FieldValue("muc#roomconfig_maxusers"); v != "5" {
		t.Errorf("muc#roomconfig_maxusers = %q after node-2's limit, want 5", v)
	}
	mark := alice.Mark()
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+n2.http+admin.Prefix+"rooms/"+room+"/end", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ending %s through node-2 = %d, want 200", room, resp.StatusCode)
	}
	alice.WaitFor(mark, "the room's destruction", func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Attr("from") == roomJID+"/Alice" && s.Attr("type") == "unavailable" && s.Find("", "destroy") != nil
	})
}
