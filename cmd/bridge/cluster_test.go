package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/store"
	"cusax.dev/bridge/sync/cluster"
	"cusax.dev/bridge/sync/synctest"
)

// The many-nodes acceptance tests (issue 8) drive several real bridge
// processes sharing one Redis and one Prosody component domain, with real
// phones (baresip) and a real chat client (slixmpp), as an operator would
// run them on one machine.

// clusterLeaseTTL is the room and link lease TTL the nodes run with (the
// default): the longest a dead owner or link holder blocks its successor.
const clusterLeaseTTL = 5 * time.Second

// testCluster is Redis, Prosody and the bridge nodes of one test.
type testCluster struct {
	t       *testing.T
	bin     string
	prosody *muctest.Prosody
	redis   *testpeer.RedisServer
	// extra are arguments every node gets (e.g. --directory).
	extra []string
	// web gives every node browser join on a port of its own (clusterNode.web).
	web bool
	// rtpBase is the first RTP port; node i gets 100 ports from
	// rtpBase+100*i, so the nodes' ranges never overlap.
	rtpBase int
	nodes   []*clusterNode
}

// clusterNode is one bridge process of a cluster.
type clusterNode struct {
	id   string
	proc *bridgeProcess
	// http is the ops address, sip the SIP listen (and advertised) address,
	// web the browser join listener (with testCluster.web).
	http, sip, web string
	dead           bool
}

// newCluster starts Redis (with redisArgs) and Prosody; nodes come with
// start.
func newCluster(t *testing.T, redisArgs ...string) *testCluster {
	t.Helper()
	bin := bridgeBinary(t)
	testpeer.Need(t, "prosody", "redis-server", "baresip")
	testpeer.NeedPythonModule(t, "slixmpp")
	c := &testCluster{t: t, bin: bin}
	c.redis = testpeer.StartRedisServer(t, redisArgs...)
	c.prosody = muctest.NewProsody(t, muctest.ProsodyConfig{})
	// Away from the ranges the single-node tests use (30000-38000) and from
	// sync's (46000-48000); the process ID spreads parallel runs of the
	// package in different checkouts.
	c.rtpBase = 40000 + 400*(os.Getpid()%12)
	return c
}

// start runs one more node and waits until it is ready for calls. A port
// taken meanwhile by another test makes the node exit at once: then it
// tries again on other ports.
func (c *testCluster) start(ctx context.Context, id string) *clusterNode {
	c.t.Helper()
	i := len(c.nodes)
	low := c.rtpBase + 100*i
	for attempt := 1; ; attempt++ {
		n := &clusterNode{
			id:   id,
			http: fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(c.t)),
			sip:  fmt.Sprintf("127.0.0.1:%d", testpeer.FreeUDPPort(c.t)),
		}
		args := append([]string{
			"--sip-listen", n.sip,
			"--sip-domain", "127.0.0.1",
			"--rtp-ports", fmt.Sprintf("%d-%d", low, low+99),
			"--http-listen", n.http,
			"--data-dir", c.t.TempDir(),
			"--redis-url", c.redis.URL,
			"--xmpp-component", c.prosody.ComponentAddr,
			"--xmpp-domain", c.prosody.Components[0],
			"--node-id", id,
			"--log-level", "debug",
		}, c.extra...)
		if c.web {
			n.web = fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(c.t))
			args = append(args, "--web-listen", n.web)
		}
		n.proc = startBridge(c.t, c.bin, cleanEnv("BRIDGE_XMPP_SECRET="+c.prosody.ComponentSecret), args...)
		wctx, cancel := context.WithCancel(ctx)
		exited := make(chan struct{})
		go func() {
			select {
			case <-n.proc.exited: // closed after the one value: others still see it
				close(exited)
				cancel()
			case <-wctx.Done():
			}
		}()
		err := waitHTTP(wctx, "http://"+n.http+"/readyz", http.StatusOK)
		cancel()
		if err == nil {
			c.nodes = append(c.nodes, n)
			return n
		}
		select {
		case <-exited:
			if attempt < 4 && strings.Contains(n.proc.logs.String(), "address already in use") {
				continue
			}
			c.t.Fatalf("%s exited before it was ready:\n%s", id, n.proc.logs.String())
		default:
		}
		c.t.Fatalf("%s never became ready: %v\nlogs:\n%s", id, err, n.proc.logs.String())
	}
}

// startNodes starts node-1, waits until it holds the component link (so
// the link's place is known), then starts node-2 … node-n.
func (c *testCluster) startNodes(ctx context.Context, n int) []*clusterNode {
	c.t.Helper()
	first := c.start(ctx, "node-1")
	waitMetric(c.t, ctx, first.http, "bridge_muc_link_up", func(v float64) bool { return v == 1 })
	nodes := []*clusterNode{first}
	for i := 2; i <= n; i++ {
		nodes = append(nodes, c.start(ctx, fmt.Sprintf("node-%d", i)))
	}
	return nodes
}

// waitReadyz polls n's /readyz until its body contains want and returns
// the status and body then; it fails the test when ctx ends first.
func waitReadyz(ctx context.Context, t *testing.T, n *clusterNode, want string) (int, string) {
	t.Helper()
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.http+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), want) {
				return resp.StatusCode, string(b)
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s /readyz never said %q; last:\n%s", n.id, want, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kill ends the node with SIGKILL, as a crash: no lease is released, no
// call hung up, no occupant told.
func (n *clusterNode) kill(t *testing.T) {
	t.Helper()
	if err := n.proc.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 %s: %v", n.id, err)
	}
	<-n.proc.exited
	n.dead = true
}

// uri is the SIP URI of room through this node.
func (n *clusterNode) uri(room string) string { return "sip:" + room + "@" + n.sip }

// addrPort is the node's SIP address, for a raw phone.
func (n *clusterNode) addrPort() netip.AddrPort { return netip.MustParseAddrPort(n.sip) }

// roomJID is the chat address of room.
func (c *testCluster) roomJID(room string) string { return room + "@" + c.prosody.Components[0] }

// linkHolder waits until exactly one live node reports the component link
// up and returns it.
func (c *testCluster) linkHolder(ctx context.Context) *clusterNode {
	c.t.Helper()
	for {
		var up []*clusterNode
		for _, n := range c.nodes {
			if !n.dead && metricValue(c.t, n.http, "bridge_muc_link_up") == 1 {
				up = append(up, n)
			}
		}
		if len(up) == 1 {
			return up[0]
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("no single component link holder (%d nodes report the link up)", len(up))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// metrics returns name on every live node, for failure messages.
func (c *testCluster) metrics(name string) string {
	var parts []string
	for _, n := range c.nodes {
		if n.dead {
			parts = append(parts, n.id+"=dead")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", n.id, metricValue(c.t, n.http, name)))
	}
	return name + ": " + strings.Join(parts, " ")
}

// roomPlacedOn returns a room name that placement puts on want among idle
// nodes with the given IDs: the first of "room-0", "room-1", … for which
// cluster.Place, the rule every node applies, picks want.
func roomPlacedOn(t *testing.T, want string, ids ...string) string {
	t.Helper()
	nodes := make([]store.Node, len(ids))
	for i, id := range ids {
		nodes[i] = store.Node{ID: id}
	}
	for i := range 1000 {
		room := "room-" + strconv.Itoa(i)
		if n, ok := cluster.Place(room, nodes); ok && n.ID == want {
			return room
		}
	}
	t.Fatalf("cluster.Place puts none of room-0…room-999 on %s among %q", want, ids)
	return ""
}

// logAfter waits until phone's output after offset contains one of wants
// and returns the one found first.
func logAfter(ctx context.Context, phone *focustest.Baresip, offset int, wants ...string) (string, error) {
	for {
		log := phone.Log()
		if offset <= len(log) {
			tail := log[offset:]
			best, at := "", -1
			for _, w := range wants {
				if i := strings.Index(tail, w); i >= 0 && (at < 0 || i < at) {
					best, at = w, i
				}
			}
			if at >= 0 {
				return best, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("baresip printed none of %q: %w", wants, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dialUntilUp dials uri from phone, redialling while the bridge answers 503
// (a room whose dead owner's lease has not lapsed yet), until the call is
// established or ctx ends. It returns how many 503s came first.
func dialUntilUp(ctx context.Context, t *testing.T, phone *focustest.Baresip, uri string) int {
	t.Helper()
	refused := 0
	for {
		offset := len(phone.Log())
		if err := phone.Dial(ctx, uri); err != nil {
			t.Fatalf("dialling %s: %v", uri, err)
		}
		// One attempt: a redirect to a dead node would hang until the SIP
		// transaction timer, so each attempt has its own bound. Other
		// endings are not matched: baresip closes the first session of a
		// call it follows a 302 for, too.
		actx, cancel := context.WithTimeout(ctx, 8*time.Second)
		got, err := logAfter(actx, phone, offset, "Call established", "503 Service Unavailable")
		cancel()
		switch {
		case got == "Call established":
			return refused
		case got == "503 Service Unavailable":
			refused++
		case ctx.Err() != nil:
			t.Fatalf("the call to %s was not established (%d answers 503 first): %v\nbaresip:\n%s", uri, refused, err, phone.Log()[offset:])
		default:
			// No answer within the attempt's bound: hang up what may be
			// left and try again.
			_ = phone.Hangup(ctx)
			t.Logf("dialling %s: %q (%v); trying again", uri, got, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the call to %s was not established: %d answers 503, then the deadline", uri, refused)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// lastRecording returns the samples phone recorded so far in its newest
// recording.
func lastRecording(t *testing.T, phone *focustest.Baresip) (rate int, samples []int16) {
	t.Helper()
	recs := phone.Recordings()
	if len(recs) == 0 {
		return 8000, nil
	}
	b, err := os.ReadFile(recs[len(recs)-1])
	if err != nil {
		t.Fatalf("reading the recording: %v", err)
	}
	return growingWAV(b)
}

// growingWAV reads a 16-bit PCM WAV that is still being written: libsndfile
// leaves the data chunk's size 0 until the file is closed (which
// testpeer.ReadWAV takes literally), so the data runs to the end of what is
// there. It returns the first channel; nothing for a header not yet written.
func growingWAV(b []byte) (rate int, samples []int16) {
	rate, channels := 8000, 1
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return rate, nil
	}
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return rate, nil
			}
			channels = max(1, int(binary.LittleEndian.Uint16(body[2:])))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			frame := 2 * channels
			samples = make([]int16, len(body)/frame)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(body[i*frame:]))
			}
			return rate, samples
		}
		off += 8 + size + size%2
	}
	return rate, nil
}

// hears measures freq in what phone records during the next window: the
// level (fraction of full scale) of that tone in its newest recording.
func hears(t *testing.T, phone *focustest.Baresip, freq float64, window time.Duration) float64 {
	t.Helper()
	_, before := lastRecording(t, phone)
	from := len(before)
	time.Sleep(window) // measuring the audio of this window
	rate, samples := lastRecording(t, phone)
	if len(samples) < from {
		from = 0 // a new recording started (a new call)
	}
	// The part of the window the recording already holds; less than a
	// quarter of it means the phone records nothing.
	if len(samples)-from < int(window.Seconds()*float64(rate))/4 {
		t.Fatalf("%s recorded %d samples in %v, want audio flowing", phone.Dir, len(samples)-from, window)
	}
	return testpeer.ToneAmplitude(samples[from:], freq, rate)
}

// Levels of a 0.3-amplitude tone after PCMU and the mixer: present clearly
// above toneOn, absent clearly below toneOff.
const (
	toneOn  = 0.05
	toneOff = 0.02
)

// waitTone polls 1.5 s windows of phone's recording until freq is present
// (on) or absent (!on), and returns the last level; it fails the test after
// 20 s.
func waitTone(t *testing.T, phone *focustest.Baresip, freq float64, on bool, what string) float64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var levels []string
	for {
		v := hears(t, phone, freq, 1500*time.Millisecond)
		levels = append(levels, fmt.Sprintf("%.3f", v))
		if on && v > toneOn || !on && v < toneOff {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %.0f Hz never %s in the recording (levels per 1.5 s: %s)", what, freq,
				map[bool]string{true: "present", false: "absent"}[on], strings.Join(levels, " "))
		}
	}
}

// toneFile writes a tone WAV long enough for the whole test (baresip hangs
// up when its file ends).
func toneFile(t *testing.T, freq float64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), fmt.Sprintf("tone%.0f.wav", freq))
	if err := testpeer.WriteWAV(p, 8000, testpeer.Tone(freq, 8000, 8000*180, 0.3)); err != nil {
		t.Fatal(err)
	}
	return p
}

// phoneOccupant matches the available presence of an audio-only (phone)
// occupant.
func phoneOccupant(occupant string) func(*muctest.Stanza) bool {
	return func(s *muctest.Stanza) bool {
		return s.Name() == "presence" && s.Attr("from") == occupant && s.Attr("type") == "" &&
			s.Find(muc.NSBridge, "phone") != nil
	}
}

// joinRoom (re-)enters room as nick and fails the test unless it works.
func joinRoom(t *testing.T, c *muctest.Client, room, nick string) muctest.JoinResult {
	t.Helper()
	j := c.Join(room, nick, muctest.JoinOptions{})
	if !j.OK {
		t.Fatalf("%s joining %s: %s", c.JID, room, j.Error)
	}
	return j
}

// setVoice revokes (visitor) or grants (participant) nick's voice.
func setVoice(t *testing.T, mod *muctest.Client, room, nick string, voice bool, id string) {
	t.Helper()
	role := "visitor"
	if voice {
		role = "participant"
	}
	if r := mod.IQ(id, synctest.AdminIQ(id, room, `<item nick='`+nick+`' role='`+role+`'/>`)); r.Attr("type") != "result" {
		t.Fatalf("setting %s's role to %s: %s", nick, role, r.Raw)
	}
}

// adminList returns the JIDs with affiliation aff in room (muc#admin get).
func adminList(t *testing.T, c *muctest.Client, room, aff, id string) []string {
	t.Helper()
	r := c.IQ(id, `<iq type='get' id='`+id+`' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='`+aff+`'/></query></iq>`)
	if r.Attr("type") != "result" {
		t.Fatalf("the %s list of %s: %s", aff, room, r.Raw)
	}
	var jids []string
	for _, it := range r.FindAll("item") {
		jids = append(jids, it.Attr("jid"))
	}
	return jids
}

// roomConfig returns the room's configuration form (muc#owner get).
func roomConfig(t *testing.T, c *muctest.Client, room, id string) muctest.Stanza {
	t.Helper()
	r := c.IQ(id, `<iq type='get' id='`+id+`' to='`+room+`'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`)
	if r.Attr("type") != "result" {
		t.Fatalf("the configuration of %s: %s", room, r.Raw)
	}
	return r
}

// configure submits a room configuration and fails unless acknowledged.
func configure(t *testing.T, c *muctest.Client, room, id, title string) {
	t.Helper()
	form := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='muc#roomconfig_persistentroom'><value>1</value></field>` +
		`<field var='muc#roomconfig_roomname'><value>` + title + `</value></field></x>`
	if r := c.IQ(id, synctest.OwnerIQ(id, room, form)); r.Attr("type") != "result" {
		t.Fatalf("configuring %s: %s", room, r.Raw)
	}
}

// checkRoomKept asserts, over XMPP, that room still has its title, its
// persistence, member and ban.
func checkRoomKept(t *testing.T, mod *muctest.Client, room, title, member, banned, when string) {
	t.Helper()
	cfg := roomConfig(t, mod, room, "g1")
	if v, _ := cfg.FieldValue("muc#roomconfig_roomname"); v != title {
		t.Errorf("room title %s = %q, want %q\n%s", when, v, title, cfg.Raw)
	}
	if v, _ := cfg.FieldValue("muc#roomconfig_persistentroom"); v != "1" && v != "true" {
		t.Errorf("room persistence %s = %q, want 1\n%s", when, v, cfg.Raw)
	}
	if m := adminList(t, mod, room, "member", "g2"); !contains(m, member) {
		t.Errorf("members %s = %q, want %s", when, m, member)
	}
	if b := adminList(t, mod, room, "outcast", "g3"); !contains(b, banned) {
		t.Errorf("bans %s = %q, want %s", when, b, banned)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestThreeNodes is the many-nodes acceptance on one machine: Redis,
// Prosody and three bridge processes. Phones calling one room through
// different nodes are mixed on its owner; chat moderation on the link holder
// reaches a room owned elsewhere; the link and the room survive kill -9 of
// their holders with configuration, affiliations and bans intact.
func TestThreeNodes(t *testing.T) {
	c := newCluster(t)
	domain := c.prosody.Domain
	carolJID := "carol@" + domain
	daveJID := "dave@" + domain
	// carol's calls are bound to her chat JID, so her ban reaches them.
	c.extra = []string{"--directory", "sip:carol@127.0.0.1=" + carolJID}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	nodes := c.startNodes(ctx, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	if holder := c.linkHolder(ctx); holder != n1 {
		t.Fatalf("the component link is on %s, want node-1 (started first)", holder.id)
	}

	room := roomPlacedOn(t, "node-3", "node-1", "node-2", "node-3")
	roomJID := c.roomJID(room)

	// The moderator makes the chat room first, so owns it.
	mod := muctest.NewClient(t, c.prosody, "mod", "desk")
	joinRoom(t, mod, roomJID, "mod")

	// A raw INVITE through node-1 is redirected to the owner, node-3.
	probe := focustest.NewRawPhone(t, n1.addrPort()).Call(room)
	res := probe.Invite("", focustest.Offer(testpeer.FreeUDPPort(t), "0"))
	if res.StatusCode != 302 {
		t.Fatalf("INVITE for %s through node-1 = %d %s, want 302 to node-3\n%s", room, res.StatusCode, res.Reason, res)
	}
	if h := res.GetHeader("Contact"); h == nil || !strings.Contains(h.Value(), "sip:"+room+"@"+n3.sip) {
		t.Fatalf("302 Contact = %v, want sip:%s@%s (node-3, as cluster.Place says)\n%s", h, room, n3.sip, c.metrics("bridge_cluster_rooms_owned"))
	}

	// Phone A (440 Hz) through node-1, phone B (1000 Hz) through node-2.
	markMod := mod.Mark()
	alice := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneFile(t, 440)})
	bob := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneFile(t, 1000)})
	dialUntilUp(ctx, t, alice, n1.uri(room))
	dialUntilUp(ctx, t, bob, n2.uri(room))
	waitMetric(t, ctx, n3.http, "bridge_focus_dialogs_active", func(v float64) bool { return v == 2 })
	for _, n := range []*clusterNode{n1, n2} {
		if v := metricValue(t, n.http, "bridge_focus_dialogs_active"); v != 0 {
			t.Errorf("%s carries %v dialogs, want 0 (the room is mixed on node-3)", n.id, v)
		}
		if v := metricValue(t, n.http, "bridge_cluster_redirects_total"); v < 1 {
			t.Errorf("%s redirected %v INVITEs, want at least 1", n.id, v)
		}
	}
	if v := metricValue(t, n3.http, "bridge_cluster_rooms_owned"); v != 1 {
		t.Errorf("node-3 owns %v rooms, want 1", v)
	}
	heard := waitTone(t, bob, 440, true, "B hears A, mixed on node-3")
	t.Logf("440 Hz in B's recording with A's voice: %.3f", heard)

	// Moderation on the link holder (node-1) reaches the owner (node-3).
	mod.WaitFor(markMod, "A's audio-only occupant", phoneOccupant(roomJID+"/alice"))
	mod.WaitFor(markMod, "B's audio-only occupant", phoneOccupant(roomJID+"/bob"))
	setVoice(t, mod, roomJID, "alice", false, "v1")
	muted := waitTone(t, bob, 440, false, "A's voice revoked on node-1, room on node-3")
	setVoice(t, mod, roomJID, "alice", true, "v2")
	back := waitTone(t, bob, 440, true, "A's voice granted again")
	t.Logf("440 Hz in B's recording: revoked %.3f, granted again %.3f", muted, back)

	// What must survive the death of the link holder and of the owner:
	// configuration, a member, a ban, all acknowledged before.
	const title = "Cluster standup"
	configure(t, mod, roomJID, "c1", title)
	for i, item := range []string{
		`<item jid='` + daveJID + `' affiliation='member'/>`,
		`<item jid='` + carolJID + `' affiliation='outcast'><reason>test ban</reason></item>`,
	} {
		id := fmt.Sprintf("a%d", i)
		if r := mod.IQ(id, synctest.AdminIQ(id, roomJID, item)); r.Attr("type") != "result" {
			t.Fatalf("affiliation %s: %s", item, r.Raw)
		}
	}

	// The ban, set on the link holder, reaches the owner: carol's call,
	// bound to her JID by the directory, is refused there.
	carol := focustest.StartBaresip(t, focustest.BaresipOptions{User: "carol", Play: toneFile(t, 700)})
	carolRefused := func(through *clusterNode, when string) {
		t.Helper()
		offset := len(carol.Log())
		if err := carol.Dial(ctx, through.uri(room)); err != nil {
			t.Fatal(err)
		}
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		got, err := logAfter(cctx, carol, offset, "403 Forbidden", "Call established")
		ccancel()
		if got != "403 Forbidden" {
			t.Errorf("banned carol's call through %s %s: %q (%v), want 403 Forbidden\nbaresip:\n%s", through.id, when, got, err, carol.Log()[offset:])
			_ = carol.Hangup(ctx)
		}
	}
	carolRefused(n1, "with node-1 holding the link and node-3 owning the room")

	// kill -9 of the link holder: a standby takes the link over.
	n1.kill(t)
	linkKilled := time.Now()
	lctx, lcancel := context.WithTimeout(ctx, clusterLeaseTTL+10*time.Second)
	holder := c.linkHolder(lctx)
	lcancel()
	t.Logf("%v after kill -9 of node-1 the link is on %s", time.Since(linkKilled).Round(100*time.Millisecond), holder.id)
	// The new holder starts with no occupants: the moderator re-joins and
	// the owner shows its phones again.
	markMod = mod.Mark()
	if j := joinRoom(t, mod, roomJID, "mod"); j.Self.HasStatus("201") {
		t.Errorf("the moderator's re-join on %s created the room anew (status 201): the persistent room was not loaded\n%s", holder.id, j.Self.Raw)
	}
	checkRoomKept(t, mod, roomJID, title, daveJID, carolJID, "after kill -9 of the link holder")
	mod.WaitFor(markMod, "A's occupant after the link takeover", phoneOccupant(roomJID+"/alice"))
	setVoice(t, mod, roomJID, "alice", false, "v3")
	waitTone(t, bob, 440, false, "A's voice revoked after the link takeover")
	setVoice(t, mod, roomJID, "alice", true, "v4")
	waitTone(t, bob, 440, true, "A's voice granted after the link takeover")

	// kill -9 of the owner: callers redial through node-2 and the room is
	// placed again on a live node once node-3's lease lapses.
	n3.kill(t)
	killed := time.Now()
	// Until node-3's lease lapses nobody may take the room. Once node-3 has
	// missed a renewal (a third of the TTL, plus the half tick of margin
	// the nodes allow) the answer is 503 with Retry-After, never again a
	// redirect to the dead node; before that a redirect is still possible,
	// as nobody can tell a dead owner from a slow one yet.
	rawPhone := focustest.NewRawPhone(t, n2.addrPort())
	missed := clusterLeaseTTL/2 + 500*time.Millisecond
	var unavailable bool
	for !unavailable && time.Since(killed) < clusterLeaseTTL+2*time.Second {
		call := rawPhone.Call(room)
		res = call.Invite("", focustest.Offer(testpeer.FreeUDPPort(t), "0"))
		switch {
		case res.StatusCode == 503:
			unavailable = true
			if res.GetHeader("Retry-After") == nil {
				t.Errorf("503 without Retry-After:\n%s", res)
			}
		case res.StatusCode == 302 && time.Since(killed) > missed:
			t.Fatalf("INVITE for %s through node-2 %v after kill -9 of its owner = 302 to %v, want 503 with Retry-After (node-3 missed its renewals)", room, time.Since(killed).Round(100*time.Millisecond), res.GetHeader("Contact"))
		case res.StatusCode == 302:
			time.Sleep(250 * time.Millisecond)
		default:
			if res.StatusCode == 200 {
				call.Bye()
			}
			t.Fatalf("INVITE for %s through node-2 %v after kill -9 of its owner = %d %s, want 503 with Retry-After until the lease lapses", room, time.Since(killed).Round(100*time.Millisecond), res.StatusCode, res.Reason)
		}
	}
	if !unavailable {
		t.Errorf("no INVITE for %s was answered 503 while node-3's lease lapsed", room)
	}
	t.Logf("503 for the dead owner's room %v after kill -9", time.Since(killed).Round(100*time.Millisecond))
	for _, p := range []*focustest.Baresip{alice, bob} {
		_ = p.Hangup(ctx) // the call is dead; baresip does not know yet
	}
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	refusedA := dialUntilUp(rctx, t, alice, n2.uri(room))
	refusedB := dialUntilUp(rctx, t, bob, n2.uri(room))
	rcancel()
	t.Logf("callers back %v after kill -9 of the owner (503s: A %d, B %d)", time.Since(killed).Round(100*time.Millisecond), refusedA, refusedB)
	waitMetric(t, ctx, n2.http, "bridge_focus_dialogs_active", func(v float64) bool { return v == 2 })
	waitTone(t, bob, 440, true, "B hears A again on the new owner")

	// The link may have been on node-3 too: then node-2 takes it over.
	lctx, lcancel = context.WithTimeout(ctx, clusterLeaseTTL+10*time.Second)
	if h := c.linkHolder(lctx); h != holder {
		t.Logf("the link moved again, to %s", h.id)
		joinRoom(t, mod, roomJID, "mod")
	}
	lcancel()
	checkRoomKept(t, mod, roomJID, title, daveJID, carolJID, "after kill -9 of the owner")

	carolRefused(n2, "after kill -9 of the owner")
}

// TestRedisRestartDuringCall kills Redis under two nodes with a call
// running: the owner keeps mixing it, a new room is refused 503 with
// Retry-After until Redis is back, the nodes reconnect by themselves and
// the room configuration acknowledged before the outage is still there.
func TestRedisRestartDuringCall(t *testing.T) {
	c := newCluster(t, "--appendonly", "yes", "--appendfsync", "always")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	nodes := c.startNodes(ctx, 2)
	n1, n2 := nodes[0], nodes[1]

	room := roomPlacedOn(t, "node-1", "node-1", "node-2")
	roomJID := c.roomJID(room)
	mod := muctest.NewClient(t, c.prosody, "mod", "desk")
	joinRoom(t, mod, roomJID, "mod")

	alice := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneFile(t, 440)})
	bob := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneFile(t, 1000)})
	dialUntilUp(ctx, t, alice, n1.uri(room))
	dialUntilUp(ctx, t, bob, n1.uri(room))
	owner, other := n1, n2
	waitMetric(t, ctx, owner.http, "bridge_focus_dialogs_active", func(v float64) bool { return v == 2 })
	waitTone(t, bob, 440, true, "B hears A before the outage")

	// An acknowledged change, made durable by appendfsync always.
	const title = "Before the outage"
	configure(t, mod, roomJID, "c1", title)

	c.redis.Kill()
	killed := time.Now()
	// The nodes notice, and still serve: the store is an advisory check.
	for _, n := range []*clusterNode{n1, n2} {
		if code, body := waitReadyz(ctx, t, n, "store: not ready"); code != http.StatusOK {
			t.Errorf("%s /readyz with Redis down = %d, want 200 (the node still serves):\n%s", n.id, code, body)
		}
	}
	// A new room cannot be placed without Redis: 503 with Retry-After.
	probe := focustest.NewRawPhone(t, other.addrPort()).Call("fresh-during-outage")
	res := probe.Invite("", focustest.Offer(testpeer.FreeUDPPort(t), "0"))
	if res.StatusCode != 503 {
		t.Errorf("INVITE for a new room through %s with Redis down = %d %s, want 503", other.id, res.StatusCode, res.Reason)
	} else if h := res.GetHeader("Retry-After"); h == nil {
		t.Errorf("503 without Retry-After:\n%s", res)
	}
	// The running call outlives the lease TTL: the owner keeps mixing.
	if wait := clusterLeaseTTL + time.Second - time.Since(killed); wait > 0 {
		time.Sleep(wait) // the lease could not be renewed meanwhile
	}
	if v := hears(t, bob, 440, 2*time.Second); v < toneOn {
		t.Errorf("440 Hz in B's recording %v after Redis died = %.3f, want above %.2f (the call goes on)", time.Since(killed).Round(time.Second), v, toneOn)
	}
	if v := metricValue(t, owner.http, "bridge_focus_dialogs_active"); v != 2 {
		t.Errorf("%s carries %v dialogs with Redis down, want 2", owner.id, v)
	}
	for _, p := range []*focustest.Baresip{alice, bob} {
		if strings.Contains(p.Log(), "terminated") || strings.Contains(p.Log(), "session closed") {
			t.Errorf("a phone's call ended during the Redis outage:\n%s", p.Log())
		}
	}

	c.redis.Restart(t)
	for _, n := range []*clusterNode{n1, n2} {
		rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
		if code, body := waitReadyz(rctx, t, n, "store: ok"); code != http.StatusOK {
			t.Errorf("%s /readyz after Redis came back = %d, want 200:\n%s", n.id, code, body)
		}
		rcancel()
	}
	if v := hears(t, bob, 440, 1500*time.Millisecond); v < toneOn {
		t.Errorf("440 Hz in B's recording after Redis came back = %.3f, want above %.2f", v, toneOn)
	}

	// Nothing acknowledged was lost.
	lctx, lcancel := context.WithTimeout(ctx, clusterLeaseTTL+10*time.Second)
	holder := c.linkHolder(lctx)
	lcancel()
	t.Logf("after the Redis restart the link is on %s", holder.id)
	if holder != n1 {
		joinRoom(t, mod, roomJID, "mod")
	}
	cfg := roomConfig(t, mod, roomJID, "g1")
	if v, _ := cfg.FieldValue("muc#roomconfig_roomname"); v != title {
		t.Errorf("room title after the Redis restart = %q, want %q\n%s", v, title, cfg.Raw)
	}

	// New rooms are placed again.
	carol := focustest.StartBaresip(t, focustest.BaresipOptions{User: "carol", Play: toneFile(t, 700)})
	nctx, ncancel := context.WithTimeout(ctx, 20*time.Second)
	dialUntilUp(nctx, t, carol, other.uri("fresh-after-outage"))
	ncancel()

	// The owner reconciled its lease: the running room is still its own,
	// its call still mixed, and the other node sends callers there.
	if v := metricValue(t, owner.http, "bridge_focus_dialogs_active"); v != 2 {
		t.Errorf("%s carries %v dialogs after the outage, want its 2", owner.id, v)
	}
	res = focustest.NewRawPhone(t, other.addrPort()).Call(room).Invite("", focustest.Offer(testpeer.FreeUDPPort(t), "0"))
	if res.StatusCode != 302 {
		t.Errorf("INVITE for the running room %s through %s after the outage = %d %s, want 302 to %s", room, other.id, res.StatusCode, res.Reason, owner.id)
	} else if h := res.GetHeader("Contact"); h == nil || !strings.Contains(h.Value(), "@"+owner.sip) {
		t.Errorf("302 Contact for %s after the outage = %v, want %s (%s)", room, h, owner.id, owner.sip)
	}
	if v := hears(t, bob, 440, 1500*time.Millisecond); v < toneOn {
		t.Errorf("440 Hz in B's recording at the end = %.3f, want above %.2f", v, toneOn)
	}
}

// TestDrainTakesNoNewRooms drains a node with `bridge drain`, as a
// Kubernetes preStop hook does: its running call goes on, a new room that
// it would otherwise get (it is the less loaded node) goes to the other
// node, and the drain command returns once the node's calls have ended.
func TestDrainTakesNoNewRooms(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nodes := c.startNodes(ctx, 2)
	n1, n2 := nodes[0], nodes[1]

	// node-1 carries three calls (raw phones, no media needed for the
	// test's few seconds) in a room of its own.
	busy := roomPlacedOn(t, "node-1", "node-1", "node-2")
	raw := focustest.NewRawPhone(t, n1.addrPort())
	for i := range 3 {
		call := raw.Call(busy)
		if res := call.Invite("", focustest.Offer(testpeer.FreeUDPPort(t), "0")); res.StatusCode != 200 {
			t.Fatalf("raw call %d to %s through node-1 = %d %s, want 200", i, busy, res.StatusCode, res.Reason)
		}
	}
	waitMetric(t, ctx, n1.http, "bridge_focus_dialogs_active", func(v float64) bool { return v == 3 })

	// Two phones in a room that goes to node-2, the less loaded.
	room := roomPlacedOn(t, "node-2", "node-1", "node-2")
	alice := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneFile(t, 440)})
	bob := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneFile(t, 1000)})
	dialUntilUp(ctx, t, alice, n2.uri(room))
	dialUntilUp(ctx, t, bob, n1.uri(room))
	waitMetric(t, ctx, n2.http, "bridge_focus_dialogs_active", func(v float64) bool { return v == 2 })
	waitTone(t, bob, 440, true, "B hears A on node-2 before the drain")

	// With loads 3 (node-1) and 2 (node-2), placement picks node-2 for any
	// new room unless it is draining.
	fresh := "after-drain"
	if n, _ := cluster.Place(fresh, []store.Node{{ID: "node-1", Load: 3}, {ID: "node-2", Load: 2}}); n.ID != "node-2" {
		t.Fatalf("cluster.Place with loads 3 and 2 picks %s, want node-2: the drain check below would prove nothing", n.ID)
	}

	drain := exec.Command(c.bin, "drain", "--http-listen", n2.http, "--data-dir", t.TempDir())
	drain.Env = cleanEnv()
	var drainOut testpeer.Buffer
	drain.Stdout, drain.Stderr = &drainOut, &drainOut
	if err := drain.Start(); err != nil {
		t.Fatal(err)
	}
	// The result is handed over once, then the channel is closed: the test
	// and the cleanup may both read it.
	drained := make(chan error, 1)
	go func() { drained <- drain.Wait(); close(drained) }()
	t.Cleanup(func() {
		select {
		case <-drained:
		default:
			_ = drain.Process.Kill()
			<-drained
		}
	})
	for !strings.Contains(n2.proc.logs.String(), "draining") {
		select {
		case err := <-drained:
			t.Fatalf("bridge drain ended before the calls did: %v\n%s", err, drainOut.String())
		case <-ctx.Done():
			t.Fatalf("node-2 never logged that it drains; bridge drain says:\n%s", drainOut.String())
		case <-time.After(100 * time.Millisecond):
		}
	}

	// A new room asked for through the draining node goes to node-1.
	probe := focustest.NewRawPhone(t, n2.addrPort()).Call(fresh)
	res := probe.Invite("", focustest.Offer(testpeer.FreeUDPPort(t), "0"))
	if res.StatusCode != 302 {
		t.Errorf("INVITE for new room %s through draining node-2 = %d %s, want 302 to node-1", fresh, res.StatusCode, res.Reason)
	} else if h := res.GetHeader("Contact"); h == nil || !strings.Contains(h.Value(), "@"+n1.sip) {
		t.Errorf("302 Contact for %s = %v, want node-1 (%s)", fresh, h, n1.sip)
	}
	if v := metricValue(t, n2.http, "bridge_cluster_rooms_owned"); v != 1 {
		t.Errorf("draining node-2 owns %v rooms, want only its running one", v)
	}
	// The running call goes on.
	if v := hears(t, bob, 440, 1500*time.Millisecond); v < toneOn {
		t.Errorf("440 Hz in B's recording on the draining node = %.3f, want above %.2f", v, toneOn)
	}
	select {
	case err := <-drained:
		t.Fatalf("bridge drain returned with two calls up: %v\n%s", err, drainOut.String())
	default:
	}

	// Once its calls end, the drain is over.
	for _, p := range []*focustest.Baresip{alice, bob} {
		if err := p.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-drained:
		if err != nil || !strings.Contains(drainOut.String(), "no calls left") {
			t.Errorf("bridge drain after the calls ended: %v\n%s", err, drainOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("bridge drain still waiting 20 s after the calls ended:\n%s", drainOut.String())
	}
}

// TestProxyMode: with --route-mode proxy, a phone calling a node that does
// not own the room is forwarded there by that node, without a redirect,
// and is mixed with the room on its owner.
func TestProxyMode(t *testing.T) {
	c := newCluster(t)
	c.extra = []string{"--route-mode", "proxy"}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nodes := c.startNodes(ctx, 2)
	n1, n2 := nodes[0], nodes[1]

	room := roomPlacedOn(t, "node-1", "node-1", "node-2")
	alice := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneFile(t, 440)})
	bob := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneFile(t, 1000)})
	dialUntilUp(ctx, t, alice, n1.uri(room))
	dialUntilUp(ctx, t, bob, n2.uri(room))
	waitMetric(t, ctx, n1.http, "bridge_focus_dialogs_active", func(v float64) bool { return v == 2 })
	if v := metricValue(t, n2.http, "bridge_focus_dialogs_active"); v != 0 {
		t.Errorf("the proxying node-2 holds %v dialogs, want 0", v)
	}
	waitMetric(t, ctx, n2.http, `bridge_focus_calls_total{outcome="proxied"}`, func(v float64) bool { return v >= 1 })
	if v := metricValue(t, n2.http, `bridge_focus_calls_total{outcome="moved"}`); v > 0 {
		t.Errorf("node-2 redirected %v calls in proxy mode", v)
	}
	waitTone(t, bob, 440, true, "B, proxied through node-2, hears A on node-1")
}
