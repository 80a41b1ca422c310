package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cusax.dev/bridge/internal/testpeer"
)

func TestSplitCLIArgs(t *testing.T) {
	c, err := splitCLIArgs([]string{"kick", "standup", "--http-listen", "127.0.0.1:9", "bob smith", "--reason=spam", "-o", "json", "--data-dir=/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.words, []string{"kick", "standup", "bob smith"}) || c.reason != "spam" || c.output != "json" ||
		!slices.Equal(c.rest, []string{"--http-listen", "127.0.0.1:9", "--data-dir=/tmp/x"}) {
		t.Errorf("split = %+v", c)
	}
	for _, bad := range [][]string{{"--output", "yaml"}, {"--reason"}} {
		if _, err := splitCLIArgs(bad); err == nil {
			t.Errorf("splitCLIArgs(%q) accepted it", bad)
		}
	}
}

func TestRoomsRequest(t *testing.T) {
	for _, tc := range []struct {
		cmd                string
		words              []string
		reason             string
		method, path, body string
	}{
		{"rooms", nil, "", http.MethodGet, "/rooms", ""},
		{"room", []string{"show", "stand up"}, "", http.MethodGet, "/rooms/stand%20up", ""},
		{"room", []string{"end", "standup"}, "over", http.MethodPost, "/rooms/standup/end", `{"reason":"over"}`},
		{"room", []string{"mute", "standup", "bob/2"}, "", http.MethodPost, "/rooms/standup/participants/bob%2F2/mute", ""},
		{"room", []string{"limit", "standup", "3"}, "", http.MethodPut, "/rooms/standup/limits", `{"max_participants":3}`},
		{"room", []string{"dial", "standup", "sip:dave@example.test"}, "", http.MethodPost, "/rooms/standup/dial", `{"uri":"sip:dave@example.test"}`},
	} {
		m, p, body, err := roomsRequest(tc.cmd, tc.words, tc.reason)
		if err != nil || m != tc.method || p != tc.path || string(body) != tc.body {
			t.Errorf("%s %q = %s %s %s %v, want %s %s %s", tc.cmd, tc.words, m, p, body, err, tc.method, tc.path, tc.body)
		}
	}
	for _, bad := range [][]string{nil, {"explode", "r"}, {"kick", "r"}, {"show"}, {"limit", "r", "-1"}, {"limit", "r", "x"}} {
		if _, _, _, err := roomsRequest("room", bad, ""); err == nil {
			t.Errorf("room %q accepted", bad)
		}
	}
	if _, _, _, err := roomsRequest("rooms", []string{"x"}, ""); err == nil {
		t.Error("rooms x accepted")
	}
}

// TestRoomsUsage: a wrong invocation exits 2 with the usage, before any
// configuration is read or any request made.
func TestRoomsUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"room", "explode", "standup"}, &out, &errOut, func(string) (string, bool) { return "", false })
	if code != exitBadConfig || !strings.Contains(errOut.String(), "unknown verb") || !strings.Contains(errOut.String(), "usage:") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestAdminSettings(t *testing.T) {
	dir := t.TempDir()
	tokenFile := writeFile(t, "token", " tok-123 \n")
	empty := writeFile(t, "empty", "\n")
	env := func(string) (string, bool) { return "", false }
	cfg, err := loadConfig([]string{"--data-dir", dir, "--admin-token-file", tokenFile, "--max-calls", "40"}, env, io.Discard)
	if err != nil || cfg.AdminToken != "tok-123" || cfg.MaxCalls != 40 {
		t.Fatalf("cfg = %q %d, %v", cfg.AdminToken, cfg.MaxCalls, err)
	}
	for _, args := range [][]string{
		{"--admin-token-file", empty},
		{"--admin-token-file", dir + "/missing"},
		{"--max-calls", "-1"},
		{"--max-calls", "many"},
	} {
		if _, err := loadConfig(append([]string{"--data-dir", dir}, args...), env, io.Discard); err == nil {
			t.Errorf("loadConfig(%q) accepted it", args)
		}
	}
	if adm, full := nodeFull(2, 2); !full || !strings.Contains(adm.Reason, "node full: 2 calls") {
		t.Errorf("nodeFull(2, 2) = %+v %v", adm, full)
	}
	if _, full := nodeFull(0, 1000); full {
		t.Error("nodeFull with no limit refused a call")
	}
}

func TestPrintRooms(t *testing.T) {
	rooms := `{"rooms": [{"name": "standup", "node": "n1", "security": "plain", "limits": {"max_participants": 0},
		"participants": [{"nick": "Alice", "jid": "alice@example.test", "role": "moderator", "affiliation": "owner", "faces": ["chat", "phone"],
			"legs": [{"call_id": "c1"}]}, {"nick": "bob", "role": "participant", "affiliation": "none", "faces": ["phone"], "talking": true, "legs": [{"call_id": "c2"}]}]}]}`
	for _, tc := range []struct {
		words []string
		data  string
		want  []string
	}{
		{nil, rooms, []string{"ROOM     NODE  SECURITY  CHAT  CALLS  PARTICIPANTS", "standup  n1    plain     1     2      Alice, bob"}},
		{[]string{"show", "standup"}, `{"name": "standup", "node": "n1", "limits": {"max_participants": 4}, "participants": [{"nick": "bob", "role": "visitor", "faces": ["phone"], "muted": true}]}`,
			[]string{"room standup (node n1, security -, max participants 4)", "bob   phone  visitor  true   false    -"}},
		{[]string{"kick", "standup", "bob"}, `{"action": "kick", "room": "standup", "nick": "bob", "outcome": "done"}`, []string{"kick bob in standup: done"}},
		{[]string{"dial", "standup", "sip:d@x"}, `{"action": "dial", "room": "standup", "uri": "sip:d@x", "node": "n2", "outcome": "done"}`, []string{"dial sip:d@x into standup (from n2): done"}},
	} {
		var out bytes.Buffer
		if err := printRooms(&out, tc.words, []byte(tc.data)); err != nil {
			t.Fatalf("%q: %v", tc.words, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%q printed:\n%s\nwant a line %q", tc.words, out.String(), w)
			}
		}
	}
}

// TestClientCommandsLeaveDataDirAlone: `bridge rooms`, `bridge room …` and
// `bridge drain` only talk to a running node, so a data directory that does
// not exist stays that way (serve and check-config still create it).
func TestClientCommandsLeaveDataDirAlone(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	dead := "127.0.0.1:" + strconv.Itoa(testpeer.FreeTCPPort(t)) // nobody listens
	for _, args := range [][]string{
		{"rooms"},
		{"room", "show", "standup"},
		{"drain", "--drain-timeout", "1s"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		var out, errOut bytes.Buffer
		code := run(append(args, "--data-dir", dir, "--http-listen", dead), &out, &errOut, env)
		if code == exitOK {
			t.Errorf("bridge %s succeeded with no node to ask: %s", strings.Join(args, " "), out.String())
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("bridge %s: the data directory %s exists now (%v)", strings.Join(args, " "), dir, err)
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	if code := run([]string{"check-config", "--data-dir", dir}, io.Discard, io.Discard, env); code != exitOK {
		t.Fatalf("check-config exited %d", code)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("check-config did not create the data directory: %v", err)
	}
}
