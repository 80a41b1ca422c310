package muctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cusax.dev/bridge/internal/procstat"
	"cusax.dev/bridge/internal/testpeer"
)

// ProsodyConfig says what a test Prosody serves.
type ProsodyConfig struct {
	// Domain is the VirtualHost users live on; empty means example.test.
	Domain string
	// Components are the external component domains to accept, all with
	// ComponentSecret; empty means one, conference.<Domain>.
	Components []string
	// ComponentSecret is the shared secret; empty means "s3cret".
	ComponentSecret string
	// BuiltinMUC, when set, also runs Prosody's own MUC on this domain (for
	// side-by-side benchmarks), with room locking off.
	BuiltinMUC string
	// NoMulticast leaves out the project's multicast module
	// (deploy/k8s/base/prosody-modules/mod_cusax_multicast.lua), which is otherwise loaded on
	// the VirtualHost so every integration test goes through it; tests of
	// the per-copy path against a plain Prosody set it.
	NoMulticast bool
}

// Prosody is a running test Prosody. Its ports stay the same across
// Restart, so a component reconnects to the same address.
type Prosody struct {
	Domain          string
	Components      []string
	ComponentSecret string
	BuiltinMUC      string
	// Multicast reports whether mod_cusax_multicast is loaded.
	Multicast bool
	// C2SAddr and ComponentAddr are 127.0.0.1:port.
	C2SAddr, ComponentAddr string

	dir, config string
	cmd         *exec.Cmd
	exited      chan struct{}
}

// StartProsody writes a config in a fresh temp dir (removed by Close) and
// starts Prosody in the foreground. Callers with a *testing.T should use
// NewProsody, which also skips when Prosody is missing.
func StartProsody(cfg ProsodyConfig) (*Prosody, error) {
	if cfg.Domain == "" {
		cfg.Domain = "example.test"
	}
	if len(cfg.Components) == 0 {
		cfg.Components = []string{"conference." + cfg.Domain}
	}
	if cfg.ComponentSecret == "" {
		cfg.ComponentSecret = "s3cret"
	}
	dir, err := os.MkdirTemp("", "muctest-prosody-")
	if err != nil {
		return nil, err
	}
	p := &Prosody{
		Domain: cfg.Domain, Components: cfg.Components, ComponentSecret: cfg.ComponentSecret, BuiltinMUC: cfg.BuiltinMUC,
		Multicast: !cfg.NoMulticast, dir: dir, config: filepath.Join(dir, "prosody.cfg.lua"),
	}
	c2s, comp, err := freePorts()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p.C2SAddr = "127.0.0.1:" + strconv.Itoa(c2s)
	p.ComponentAddr = "127.0.0.1:" + strconv.Itoa(comp)
	if err := p.writeFiles(c2s, comp); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// NewProsody starts a Prosody for one test and stops it in t.Cleanup.
func NewProsody(t testing.TB, cfg ProsodyConfig) *Prosody {
	t.Helper()
	testpeer.Need(t, "prosody", "prosodyctl", "openssl")
	p, err := StartProsody(cfg)
	if err != nil {
		t.Fatalf("starting prosody: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

func freePorts() (int, int, error) {
	var ports []int
	for range 2 {
		l, err := listenLoopback()
		if err != nil {
			return 0, 0, err
		}
		ports = append(ports, l.port)
		defer l.close()
	}
	return ports[0], ports[1], nil
}

func (p *Prosody) writeFiles(c2s, comp int) error {
	key, cert := filepath.Join(p.dir, "key.pem"), filepath.Join(p.dir, "cert.pem")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN="+p.Domain, "-addext", "subjectAltName=DNS:"+p.Domain,
		"-keyout", key, "-out", cert).CombinedOutput()
	if err != nil {
		return fmt.Errorf("making a test certificate with openssl: %w: %s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(p.dir, "data"), 0o700); err != nil {
		return err
	}
	// carbons and smacks as deploy/k8s loads them, so tests go through
	// their message handlers and output filters as deployments do.
	modules := `"roster", "saslauth", "tls", "disco", "ping", "posix", "vcard", "blocklist", "carbons", "smacks"`
	pluginPaths := ""
	if p.Multicast {
		dir, err := ModuleDir()
		if err != nil {
			return err
		}
		modules += `, "cusax_multicast"`
		pluginPaths = fmt.Sprintf("plugin_paths = { %q }\n", dir)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `-- written by cusax.dev/bridge/muc/muctest
pidfile = %q
data_path = %q
run_as_root = true
daemonize = false
log = { { levels = { min = "info" }, to = "file", filename = %q } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { %d }
component_ports = { %d }
component_interfaces = { "127.0.0.1" }
s2s_ports = { }
http_ports = { }
https_ports = { }
%smodules_enabled = { %s }
modules_disabled = { "s2s", "offline", "c2s_limits", "limits" }
authentication = "internal_plain"
c2s_require_encryption = true
allow_registration = false
ssl = { key = %q; certificate = %q }
use_dane = false
VirtualHost %q
`, filepath.Join(p.dir, "prosody.pid"), filepath.Join(p.dir, "data"), filepath.Join(p.dir, "prosody.log"),
		c2s, comp, pluginPaths, modules, key, cert, p.Domain)
	for _, c := range p.Components {
		fmt.Fprintf(&b, "Component %q\n  component_secret = %q\n", c, p.ComponentSecret)
	}
	if p.BuiltinMUC != "" {
		fmt.Fprintf(&b, "Component %q \"muc\"\n  muc_room_locking = false\n  muc_room_default_history_length = 0\n  restrict_room_creation = false\n  max_history_messages = 0\n", p.BuiltinMUC)
	}
	return os.WriteFile(p.config, []byte(b.String()), 0o600)
}

// ModuleDir returns the repository's deploy/k8s/base/prosody-modules folder, where Prosody
// finds mod_cusax_multicast.lua (plugin_paths). It is found from the
// working directory (go test runs in the package's folder) by walking up to
// the module root, the folder whose go.mod is cusax.dev/bridge's.
func ModuleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module cusax.dev/bridge\n") {
			mod := filepath.Join(dir, "deploy", "k8s", "base", "prosody-modules")
			if _, err := os.Stat(filepath.Join(mod, "mod_cusax_multicast.lua")); err != nil {
				return "", fmt.Errorf("looking for the multicast module: %w", err)
			}
			return mod, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("looking for the multicast module: no go.mod of cusax.dev/bridge above the working directory")
		}
		dir = parent
	}
}

func (p *Prosody) start() error {
	cmd := exec.Command("prosody", "--config", p.config, "-F")
	cmd.Dir = p.dir
	logf, err := os.OpenFile(filepath.Join(p.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting prosody: %w", err)
	}
	logf.Close()
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() { cmd.Wait(); close(p.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, addr := range []string{p.C2SAddr, p.ComponentAddr} {
		if err := waitTCP(ctx, addr, p.exited); err != nil {
			p.stop()
			return fmt.Errorf("prosody did not listen on %s: %w; log:\n%s", addr, err, p.Log())
		}
	}
	return nil
}

// waitTCP is testpeer.WaitTCP that also gives up when prosody exits.
func waitTCP(ctx context.Context, addr string, exited chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	return testpeer.WaitTCP(ctx, addr)
}

func (p *Prosody) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// Restart stops Prosody and starts it again on the same ports with the same
// data, as an operator's restart would.
func (p *Prosody) Restart() error {
	p.stop()
	return p.start()
}

// Close stops Prosody and removes its directory.
func (p *Prosody) Close() {
	p.stop()
	os.RemoveAll(p.dir)
}

// Log returns Prosody's log so far, for failure messages.
func (p *Prosody) Log() string {
	var b strings.Builder
	for _, f := range []string{"prosody.log", "stdout.log"} {
		data, _ := os.ReadFile(filepath.Join(p.dir, f))
		b.Write(data)
	}
	return b.String()
}

// Register creates user@Domain with password through prosodyctl (offline).
func (p *Prosody) Register(user, password string) error {
	out, err := exec.Command("prosodyctl", "--config", p.config, "register", user, p.Domain, password).CombinedOutput()
	if err != nil {
		return fmt.Errorf("prosodyctl register %s: %w: %s", user, err, out)
	}
	return nil
}

// CPUTime returns the processor time (user + system) Prosody has used so
// far, read from /proc (Linux only). Benchmarks divide its growth by the
// stanzas delivered: Prosody is single-threaded, so its cost per delivery
// bounds the rate it can sustain.
func (p *Prosody) CPUTime() (time.Duration, error) {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0, fmt.Errorf("prosody is not running")
	}
	return procstat.CPU(p.cmd.Process.Pid)
}

// Syscalls returns how many read and write system calls Prosody has made
// so far, from /proc/<pid>/io (Linux only). Benchmarks divide their growth
// by the stanzas delivered: writes per copy show how well Prosody batches
// what it sends each client (one TLS record and one write for many
// stanzas, or one each).
func (p *Prosody) Syscalls() (reads, writes int64, err error) {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0, 0, fmt.Errorf("prosody is not running")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading prosody's I/O counts: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("unexpected /proc/%d/io line %q", p.cmd.Process.Pid, line)
		}
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes, nil
}
