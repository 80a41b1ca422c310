package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc/muctest"
)

// TestBridgeWithRealPeers runs the real binary as `make run` does, beside a
// real Prosody, and uses both faces with real clients: the room's disco#info
// advertises the audio conference, a baresip call is connected, a Prosody
// restart is survived, and SIGTERM hangs the call up before the bridge exits.
func TestBridgeWithRealPeers(t *testing.T) {
	bin := bridgeBinary(t)
	testpeer.Need(t, "prosody", "baresip")
	testpeer.NeedPythonModule(t, "slixmpp")

	prosody := muctest.NewProsody(t, muctest.ProsodyConfig{})
	if err := prosody.Register("alice", "alice-pass"); err != nil {
		t.Fatal(err)
	}
	sipPort := testpeer.FreeUDPPort(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t))
	rtpLow := 30000 + 2*(sipPort%4000)
	proc := startBridge(t, bin, cleanEnv("BRIDGE_XMPP_SECRET="+prosody.ComponentSecret),
		"--sip-listen", fmt.Sprintf("127.0.0.1:%d", sipPort),
		"--sip-domain", "127.0.0.1",
		"--rtp-ports", fmt.Sprintf("%d-%d", rtpLow, rtpLow+99),
		"--http-listen", httpAddr,
		"--data-dir", t.TempDir(),
		"--xmpp-component", prosody.ComponentAddr,
		"--xmpp-domain", prosody.Components[0],
		"--node-id", "e2e",
		"--log-level", "debug",
	)
	logs := proc.logs

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := waitHTTP(ctx, "http://"+httpAddr+"/readyz", 200); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	if body := get(t, "http://"+httpAddr+"/readyz", 200); !strings.Contains(body, "xmpp component link: ok") {
		t.Errorf("/readyz does not list the component link: %q", body)
	}

	// The chat face points at the audio face.
	alice := muctest.NewClient(t, prosody, "alice", "e2e")
	room := "standup@" + prosody.Components[0]
	if joined := alice.Join(room, "Alice", muctest.JoinOptions{}); !joined.OK {
		t.Fatalf("joining %s: %s", room, joined.Error)
	}
	info, err := alice.Disco(room)
	if err != nil {
		t.Fatalf("disco#info on %s: %v", room, err)
	}
	if !strings.Contains(info.Raw, "audio-video-uri") || !strings.Contains(info.Raw, "sip:standup@127.0.0.1") {
		t.Errorf("room disco#info lacks audio-video-uri sip:standup@127.0.0.1:\n%s", info.Raw)
	}

	// The audio face takes a real call.
	tone := filepath.Join(t.TempDir(), "tone.wav")
	// A minute of 440 Hz: baresip hangs up when its file ends.
	if err := testpeer.WriteWAV(tone, 8000, testpeer.Tone(440, 8000, 60*8000, 8000)); err != nil {
		t.Fatal(err)
	}
	phone := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: tone})
	mark := alice.Mark()
	if err := phone.Dial(ctx, fmt.Sprintf("sip:standup@127.0.0.1:%d", sipPort)); err != nil {
		t.Fatal(err)
	}
	if err := phone.WaitLog(ctx, "Call established"); err != nil {
		t.Fatalf("the call was not established: %v\nbaresip:\n%s", err, phone.Log())
	}
	waitMetric(t, ctx, httpAddr, "bridge_focus_dialogs_active", func(v float64) bool { return v == 1 })
	// Sync is wired: the unbound caller shows in the room as a phone occupant.
	alice.WaitFor(mark, "the caller's audio-only occupant presence", func(s *muctest.Stanza) bool {
		return strings.HasPrefix(s.Raw, "<presence") && strings.Contains(s.Raw, "urn:cusax:bridge:0")
	})

	// A restart of the XMPP server is survived: the link comes back alone.
	if err := prosody.Restart(); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, ctx, httpAddr, "bridge_muc_reconnects_total", func(v float64) bool { return v >= 1 })
	waitMetric(t, ctx, httpAddr, "bridge_muc_link_up", func(v float64) bool { return v == 1 })
	if err := waitHTTP(ctx, "http://"+httpAddr+"/readyz", 200); err != nil {
		t.Fatalf("/readyz after the Prosody restart: %v", err)
	}

	// A planned stop hangs the call up and exits cleanly.
	if err := proc.stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := phone.WaitLog(ctx, "terminated"); err != nil {
		t.Errorf("the phone was not hung up on shutdown: %v\nbaresip:\n%s", err, phone.Log())
	}
	if !strings.Contains(logs.String(), "stopped cleanly") {
		t.Error("the bridge did not log a clean stop")
	}
}

// waitMetric polls /metrics until the unlabelled sample name satisfies ok.
func waitMetric(t *testing.T, ctx context.Context, httpAddr, name string, ok func(float64) bool) {
	t.Helper()
	last := "absent"
	for {
		body := get(t, "http://"+httpAddr+"/metrics", 200)
		for _, line := range strings.Split(body, "\n") {
			value, found := strings.CutPrefix(line, name+" ")
			if !found {
				continue
			}
			last = value
			if v, err := strconv.ParseFloat(value, 64); err == nil && ok(v) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/metrics: %s never reached the wanted value (last: %s)", name, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// metricValue reads one unlabelled sample from /metrics, or -1 when absent.
func metricValue(t *testing.T, httpAddr, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(get(t, "http://"+httpAddr+"/metrics", 200), "\n") {
		if value, found := strings.CutPrefix(line, name+" "); found {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("/metrics: %s has value %q", name, value)
			}
			return v
		}
	}
	return -1
}
