package focustest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
)

// Linphone is a running linphonec driven through its standard input, with
// its own HOME and an rc file written from a template each run (linphonec
// rewrites it on exit). It plays a WAV into calls and records what it hears.
type Linphone struct {
	t       testing.TB
	Dir     string
	SIPPort int
	Record  string // where the received audio is recorded
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	waitErr chan error
	log     *testpeer.Buffer
}

// StartLinphone starts linphonec on 127.0.0.1 playing play (a WAV file)
// into its calls; t.Cleanup quits it.
func StartLinphone(t testing.TB, play string) *Linphone {
	t.Helper()
	bin := testpeer.Need(t, "linphonec")[0]
	dir := t.TempDir()
	l := &Linphone{t: t, Dir: dir, SIPPort: testpeer.FreeUDPPort(t), Record: filepath.Join(dir, "heard.wav"),
		waitErr: make(chan error, 1), log: &testpeer.Buffer{}}
	if err := os.MkdirAll(filepath.Join(dir, ".local", "share", "linphone"), 0o755); err != nil {
		t.Fatal(err)
	}
	rtp := testpeer.FreeUDPPort(t)
	rc := fmt.Sprintf(`[sip]
sip_port=%d
sip_tcp_port=0
sip_tls_port=0
use_ipv6=0
ipv6_migration_done=1
bind_address=127.0.0.1
default_proxy=-1
register_only_when_network_is_up=0
[rtp]
audio_rtp_port=%d
bind_address=127.0.0.1
audio_jitt_comp=60
[sound]
echocancellation=0
[net]
stun_server=
nat_policy_ref=
[misc]
max_calls=1
[video]
enabled=0
capture=0
display=0
`, l.SIPPort, rtp)
	rcPath := filepath.Join(dir, "linphonerc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	l.cmd = exec.Command(bin, "-c", rcPath)
	l.cmd.Dir = dir
	l.cmd.Env = append(os.Environ(), "HOME="+dir)
	var err error
	if l.stdin, err = l.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	l.cmd.Stdout = l.log
	l.cmd.Stderr = l.log
	if err := l.cmd.Start(); err != nil {
		t.Fatalf("starting linphonec: %v", err)
	}
	go func() { l.waitErr <- l.cmd.Wait() }()
	t.Cleanup(l.stop)
	l.Command("soundcard use files")
	l.Command("play " + play)
	l.Command("record " + l.Record)
	return l
}

// Command writes one command line to linphonec.
func (l *Linphone) Command(line string) {
	if _, err := io.WriteString(l.stdin, line+"\n"); err != nil {
		l.t.Errorf("linphonec %q: %v", line, err)
	}
}

// Call dials uri.
func (l *Linphone) Call(uri string) { l.Command("call " + uri) }

// Terminate hangs up.
func (l *Linphone) Terminate() { l.Command("terminate") }

// WaitLog polls linphonec's output until it contains s.
func (l *Linphone) WaitLog(ctx context.Context, s string) error {
	for !strings.Contains(l.log.String(), s) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("linphonec never printed %q: %w", s, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Log is what linphonec printed so far.
func (l *Linphone) Log() string { return l.log.String() }

func (l *Linphone) stop() {
	l.Command("quit")
	select {
	case <-l.waitErr:
	case <-time.After(5 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.waitErr
	}
	if l.t.Failed() {
		l.t.Logf("linphonec log:\n%s", l.log.String())
	}
}
