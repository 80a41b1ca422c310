// Package focustest holds what the focus's tests and the tests of packages
// built on it (sync, cmd/bridge) share: real phones (baresip, linphonec),
// SIPp scenarios, a minimal conference watcher, a raw-text SIP phone and a
// fake media engine.
package focustest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
)

// BaresipOptions configures one baresip phone.
type BaresipOptions struct {
	// User is the account user part (default "phone").
	User string
	// Play is the WAV the phone sends: S16LE mono at 8 kHz. baresip hangs
	// up when it ends, so make it longer than the call.
	Play string
	// AutoAnswer makes the phone answer incoming calls.
	AutoAnswer bool
	// Codecs lists extra codec modules to load ("g722", "opus"); PCMU and
	// PCMA are always there.
	Codecs []string
	// CAFile is the PEM CA the phone checks a TLS server's certificate
	// against (sip_cafile); dial sip:...;transport=tls to use TLS.
	CAFile string
	// SRTP makes the phone insist on SDES-SRTP (srtp module,
	// mediaenc=srtp-mand): it offers RTP/SAVP with its key.
	SRTP bool
}

// Baresip is a running baresip with its own config folder, driven through
// its ctrl_tcp control port. Received audio is recorded by the sndfile
// module as dump-*-dec.wav in Dir.
type Baresip struct {
	t       testing.TB
	Dir     string
	SIPPort int
	ctrl    string
	cmd     *exec.Cmd
	waitErr chan error
	log     *testpeer.Buffer

	mu   sync.Mutex
	conn net.Conn
	rd   *bufio.Reader
}

// StartBaresip starts a phone listening on 127.0.0.1; t.Cleanup stops it.
func StartBaresip(t testing.TB, o BaresipOptions) *Baresip {
	t.Helper()
	bin := testpeer.Need(t, "baresip")[0]
	if o.User == "" {
		o.User = "phone"
	}
	// baresip binds UDP and TCP on its SIP port and TLS on the next one;
	// a port taken meanwhile makes it exit, so try again with another.
	var last string
	for attempt := 0; attempt < 4; attempt++ {
		b, ok := startBaresip(t, bin, o)
		if ok {
			return b
		}
		last = b.log.String()
	}
	t.Fatalf("baresip did not start:\n%s", last)
	return nil
}

// sipPortPair finds a port whose UDP and TCP are free and whose next TCP
// port is free too.
func sipPortPair(t testing.TB) int {
	for i := 0; i < 50; i++ {
		p := testpeer.FreeUDPPort(t)
		ok := true
		for _, q := range []int{p, p + 1} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(q))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free port for baresip")
	return 0
}

func startBaresip(t testing.TB, bin string, o BaresipOptions) (*Baresip, bool) {
	dir := t.TempDir()
	b := &Baresip{t: t, Dir: dir, SIPPort: sipPortPair(t), ctrl: "127.0.0.1:" + strconv.Itoa(testpeer.FreeTCPPort(t)),
		waitErr: make(chan error, 1), log: &testpeer.Buffer{}}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "poll_method\tepoll\nsip_listen\t127.0.0.1:%d\nnet_interface\t127.0.0.1\n", b.SIPPort)
	cfg.WriteString("module_path\t/usr/lib/baresip/modules\nmodule\tg711.so\n")
	for _, c := range o.Codecs {
		fmt.Fprintf(&cfg, "module\t%s.so\n", c)
	}
	if o.SRTP {
		cfg.WriteString("module\tsrtp.so\n")
	}
	cfg.WriteString("module\taufile.so\nmodule\tsndfile.so\nmodule_app\taccount.so\nmodule_app\tmenu.so\nmodule\tctrl_tcp.so\n")
	fmt.Fprintf(&cfg, "ctrl_tcp_listen\t%s\n", b.ctrl)
	if o.Play != "" {
		fmt.Fprintf(&cfg, "audio_source\taufile,%s\n", o.Play)
	}
	// No audio player module: the null ALSA device spins a core, and
	// sndfile records the decoded audio anyway.
	fmt.Fprintf(&cfg, "ausrc_srate\t8000\nausrc_channels\t1\nsnd_path\t%s\n", dir)
	cfg.WriteString("rtp_timeout\t0\nsip_trans_def\tudp\n")
	if o.CAFile != "" {
		fmt.Fprintf(&cfg, "sip_cafile\t%s\n", o.CAFile)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	acct := fmt.Sprintf("<sip:%s@127.0.0.1:%d>;regint=0", o.User, b.SIPPort)
	if o.AutoAnswer {
		acct += ";answermode=auto"
	}
	if o.SRTP {
		acct += ";mediaenc=srtp-mand"
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(acct+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.cmd = exec.Command(bin, "-f", dir)
	b.cmd.Dir = dir
	b.cmd.Stdout = b.log
	b.cmd.Stderr = b.log
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("starting baresip: %v", err)
	}
	go func() { b.waitErr <- b.cmd.Wait() }()
	// Wait for the banner rather than probing the control port: a probe
	// connection that closes at once can upset ctrl_tcp.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(b.log.String(), "baresip is ready.") {
		select {
		case <-b.waitErr:
			return b, false // exited: most likely a port was taken
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.stop()
			return b, false
		}
	}
	t.Cleanup(b.stop)
	return b, true
}

func (b *Baresip) stop() {
	b.mu.Lock()
	if b.conn != nil {
		b.conn.Close()
	}
	b.mu.Unlock()
	if b.cmd.Process != nil {
		_ = b.cmd.Process.Signal(os.Interrupt)
		select {
		case <-b.waitErr:
		case <-time.After(5 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.waitErr
		}
	}
	if b.t.Failed() {
		b.t.Logf("baresip %s log:\n%s", b.Dir, b.log.String())
	}
}

// Log returns what baresip printed so far.
func (b *Baresip) Log() string { return b.log.String() }

// Command sends a ctrl_tcp command (a menu command name without the
// slash, e.g. "dial", "hangup") and returns its response text.
func (b *Baresip) Command(ctx context.Context, command, params string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", b.ctrl)
		if err != nil {
			return "", fmt.Errorf("baresip control: %w", err)
		}
		b.conn, b.rd = c, bufio.NewReader(c)
	}
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	msg, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": token})
	if _, err := fmt.Fprintf(b.conn, "%d:%s,", len(msg), msg); err != nil {
		return "", fmt.Errorf("baresip control write: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = b.conn.SetReadDeadline(dl)
	}
	for {
		payload, err := readNetstring(b.rd)
		if err != nil {
			return "", fmt.Errorf("baresip control read: %w", err)
		}
		var r struct {
			Response bool   `json:"response"`
			OK       bool   `json:"ok"`
			Data     string `json:"data"`
			Token    string `json:"token"`
		}
		if json.Unmarshal(payload, &r) != nil || !r.Response || r.Token != token {
			continue // an event, or another command's answer
		}
		if !r.OK {
			return r.Data, fmt.Errorf("baresip %s %s failed: %s", command, params, r.Data)
		}
		return r.Data, nil
	}
}

func readNetstring(r *bufio.Reader) ([]byte, error) {
	lenStr, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad netstring length %q", lenStr)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// Dial calls uri (an IP-literal SIP URI).
func (b *Baresip) Dial(ctx context.Context, uri string) error {
	_, err := b.Command(ctx, "dial", uri)
	return err
}

// Hangup ends the current call.
func (b *Baresip) Hangup(ctx context.Context) error {
	_, err := b.Command(ctx, "hangup", "")
	return err
}

// Recordings lists the decoded-audio recordings (dump-*-dec.wav), oldest
// first.
func (b *Baresip) Recordings() []string {
	m, _ := filepath.Glob(filepath.Join(b.Dir, "dump-*-dec.wav"))
	sort.Strings(m)
	return m
}

// WaitLog polls baresip's output until it contains s.
func (b *Baresip) WaitLog(ctx context.Context, s string) error {
	for !strings.Contains(b.log.String(), s) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("baresip never printed %q: %w", s, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
