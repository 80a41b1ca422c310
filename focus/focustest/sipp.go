package focustest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
)

// SIPpResult is what a SIPp run left behind.
type SIPpResult struct {
	ExitCode int    // 0: every call succeeded
	Output   string // stdout and stderr
	Messages string // every message sent and received (-trace_msg)
}

// RunSIPp runs one SIPp scenario (its XML text) as a UAC against target
// (host:port) on 127.0.0.1 and waits for it, at most timeout. args are
// extra SIPp arguments (e.g. "-m", "1", "-s", "room").
func RunSIPp(t testing.TB, scenario, target string, timeout time.Duration, args ...string) SIPpResult {
	t.Helper()
	bin := testpeer.Need(t, "sipp")[0]
	dir := t.TempDir()
	sf := filepath.Join(dir, "scenario.xml")
	if err := os.WriteFile(sf, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs := filepath.Join(dir, "messages.log")
	port := testpeer.FreeUDPPort(t)
	full := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-sf", sf, "-trace_msg", "-message_file", msgs,
		"-timeout", strconv.Itoa(int(timeout.Seconds())) + "s", "-timeout_error", "-nostdin", "-bind_local"}
	full = append(full, args...)
	full = append(full, target)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	res := SIPpResult{Output: string(out)}
	if b, rerr := os.ReadFile(msgs); rerr == nil {
		res.Messages = string(b)
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			res.ExitCode = ee.ExitCode()
		} else {
			t.Fatalf("running sipp: %v\n%s", err, out)
		}
	}
	return res
}

// Bodies returns the bodies of the received messages of a SIPp message log
// whose first line starts with startLine (e.g. "NOTIFY "), in order.
func (r SIPpResult) Bodies(startLine string) []string {
	var out []string
	for _, block := range strings.Split(r.Messages, "----------------------------------------------- ") {
		if !strings.Contains(block, "message received") {
			continue
		}
		_, msg, ok := strings.Cut(block, "bytes :")
		if !ok {
			continue
		}
		msg = strings.TrimLeft(msg, "\r\n")
		if !strings.HasPrefix(msg, startLine) {
			continue
		}
		norm := strings.ReplaceAll(msg, "\r\n", "\n")
		_, body, ok := strings.Cut(norm, "\n\n")
		if !ok {
			continue
		}
		out = append(out, strings.TrimRight(body, "\n"))
	}
	return out
}

// String summarises a failed run for test logs.
func (r SIPpResult) String() string {
	return fmt.Sprintf("sipp exit %d\n%s\n%s", r.ExitCode, r.Output, r.Messages)
}

// SIPpPcap finds one of the RTP captures SIPp ships for play_pcap_audio
// (e.g. "dtmf_2833_1.pcap", the RFC 4733 digit 1). A missing file fails
// the test in CI and skips it elsewhere, like a missing peer.
func SIPpPcap(t testing.TB, name string) string {
	t.Helper()
	for _, dir := range []string{"/usr/share/sip-tester", "/usr/share/sip-tester/pcap", "/usr/share/sipp/pcap", "/usr/local/share/sipp/pcap"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if testpeer.InCI() {
		t.Fatalf("SIPp capture %s not found; the sip-tester package ships it", name)
	}
	t.Skipf("SIPp capture %s not found; the sip-tester package ships it", name)
	return ""
}
