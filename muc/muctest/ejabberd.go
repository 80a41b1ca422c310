package muctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
)

// Ejabberd is a private ejabberd instance for tests (see PEERS.md): its own
// config, spool and logs in a temp dir, its own Erlang port mapper on a
// free port, stopped (both) when the test ends.
type Ejabberd struct {
	// ComponentAddr is the ejabberd_service listener (XEP-0114), over TLS
	// when EjabberdConfig.TLS is set; Component its domain and
	// ComponentSecret its password.
	ComponentAddr, Component, ComponentSecret string
	// CAFile is the PEM certificate to trust for the TLS listener.
	CAFile string

	dir  string
	ctl  []string // ejabberdctl and its arguments before the command
	env  []string
	epmd int
}

// EjabberdConfig says what a test ejabberd serves.
type EjabberdConfig struct {
	// TLS makes the component listener speak TLS with a self-signed
	// certificate for example.test and 127.0.0.1 (Ejabberd.CAFile).
	TLS bool
}

// NewEjabberd starts ejabberd; a missing ejabberdctl fails in CI and skips
// elsewhere.
func NewEjabberd(t testing.TB, cfg EjabberdConfig) *Ejabberd {
	t.Helper()
	testpeer.Integration(t)
	ctl := testpeer.Need(t, "ejabberdctl")[0]
	dir, err := os.MkdirTemp("", "ejabberd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &Ejabberd{ComponentAddr: "127.0.0.1:" + strconv.Itoa(testpeer.FreeTCPPort(t)), Component: "conference.example.test",
		ComponentSecret: "s3cret", epmd: testpeer.FreeTCPPort(t), dir: dir}
	var yml strings.Builder
	fmt.Fprintf(&yml, "hosts: [\"example.test\"]\nloglevel: info\nacme: {auto: false}\nauth_method: internal\nacl: {}\naccess_rules: {}\nmodules: {}\n")
	if cfg.TLS {
		both := filepath.Join(dir, "cert.pem")
		e.CAFile = selfSigned(t, both)
		fmt.Fprintf(&yml, "certfiles: [%q]\n", both)
	}
	host, port, _ := strings.Cut(e.ComponentAddr, ":")
	fmt.Fprintf(&yml, "listen:\n  - port: %s\n    ip: %q\n    module: ejabberd_service\n    tls: %t\n", port, host, cfg.TLS)
	if cfg.TLS {
		// The service listener picks no certificate by itself.
		fmt.Fprintf(&yml, "    certfile: %q\n", filepath.Join(dir, "cert.pem"))
	}
	fmt.Fprintf(&yml, "    hosts:\n      %s:\n        password: %q\n", e.Component, e.ComponentSecret)
	conf := filepath.Join(dir, "ejabberd.yml")
	if err := os.WriteFile(conf, []byte(yml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctlConf := filepath.Join(dir, "ejabberdctl.cfg")
	if err := os.WriteFile(ctlConf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// ejabberd runs as its own user and needs its folder.
	if u, err := user.Lookup("ejabberd"); err == nil && os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
	}
	node := "cusaxtest" + strconv.Itoa(os.Getpid()) + "@localhost"
	e.ctl = []string{ctl, "--node", node, "--config", conf, "--ctl-config", ctlConf, "--logs", dir, "--spool", dir}
	e.env = append(os.Environ(), "ERL_EPMD_PORT="+strconv.Itoa(e.epmd))
	if out, err := e.run("start"); err != nil {
		t.Fatalf("ejabberd start: %v\n%s", err, out)
	}
	t.Cleanup(func() { e.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := e.run("status"); err == nil && listening(e.ComponentAddr) {
			return e
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "ejabberd.log"))
			t.Fatalf("ejabberd did not come up in 30 s:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *Ejabberd) run(cmd string) ([]byte, error) {
	c := exec.Command(e.ctl[0], append(e.ctl[1:], cmd)...)
	c.Env = e.env
	return c.CombinedOutput()
}

// stop stops ejabberd, then the port mapper this instance started (found by
// the port only it uses).
func (e *Ejabberd) stop(t testing.TB) {
	if out, err := e.run("stop"); err != nil {
		t.Logf("ejabberd stop: %v\n%s", err, out)
	}
	// stop returns before the node is gone; the node is ours while its
	// own port mapper still knows it.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := e.run("status"); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pid := listenerPID(e.epmd); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

// listening reports whether something accepts TCP connections at addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

var ssPID = regexp.MustCompile(`pid=(\d+)`)

// listenerPID is the process listening on a loopback TCP port, 0 if none.
func listenerPID(port int) int {
	out, err := exec.Command("ss", "-ltnpH", "sport = :"+strconv.Itoa(port)).Output()
	if err != nil {
		return 0
	}
	m := ssPID.FindSubmatch(out)
	if m == nil {
		return 0
	}
	pid, _ := strconv.Atoi(string(m[1]))
	return pid
}

// selfSigned writes a self-signed certificate for example.test (and
// 127.0.0.1) and its key
// (PKCS #8) to both, and the certificate alone to another file it returns,
// for clients to trust.
func selfSigned(t testing.TB, both string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// ejabberd picks the certificate by the host's name, so the XMPP
	// domain must be in it; the address is too, for clients that check it.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example.test"},
		DNSNames: []string{"example.test", "conference.example.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(both, append(cert, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ejabberd-ca.pem")
	if err := os.WriteFile(ca, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	return ca
}

// Log is what ejabberd logged so far, to read when a test fails.
func (e *Ejabberd) Log() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "ejabberd.log"))
	return string(b)
}
