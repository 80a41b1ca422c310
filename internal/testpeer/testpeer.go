// Package testpeer holds the helpers every integration test shares: finding a
// real peer's binary (failing in CI, skipping elsewhere), picking free
// loopback ports and waiting for a listener.
package testpeer

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI, where a missing peer is a failure.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need returns the path of each named binary. A missing one fails the test in
// CI and skips it elsewhere, naming the script that installs it.
func Need(t testing.TB, binaries ...string) []string {
	t.Helper()
	paths := make([]string, 0, len(binaries))
	for _, bin := range binaries {
		p, err := exec.LookPath(bin)
		if err != nil {
			missing(t, bin)
		}
		paths = append(paths, p)
	}
	return paths
}

// NeedPythonModule checks that /usr/bin/python3 (the Debian interpreter,
// which is where python3-slixmpp lands) can import module.
func NeedPythonModule(t testing.TB, module string) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import "+module).Run(); err != nil {
		missing(t, python+" module "+module)
	}
	return python
}

func missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("test peer %s is missing; run scripts/install-peers.sh as root", what)
	}
	t.Skipf("test peer %s is missing; run scripts/install-peers.sh as root to run this test", what)
}

// Integration skips the test under -short, so `go test -short` stays a quick
// unit run while `make test` runs everything.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped with -short")
	}
}

// Test ports come from a range below the kernel's ephemeral ports
// (32768-60999 on Linux), where the source ports of outgoing connections
// (Redis clients, XMPP links) and the default RTP range (20000-29999) never
// land, and each is checked free on both UDP and TCP: a SIP listener binds
// both, and a port taken by an outgoing connection in between made tests
// fail with "address already in use".
const (
	testPortLow  = 10000
	testPortHigh = 20000 // exclusive
)

// FreeTCPPort returns a loopback port free on TCP and UDP a moment ago.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	return freePort(t)
}

// FreeUDPPort returns a loopback port free on UDP and TCP a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	return freePort(t)
}

func freePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := testPortLow + rand.IntN(testPortHigh-testPortLow)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		c, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			continue
		}
		c.Close()
		return port
	}
	t.Fatalf("no loopback port free on both TCP and UDP in %d-%d after 200 tries", testPortLow, testPortHigh-1)
	return 0
}

// WaitTCP waits until addr accepts TCP connections or ctx ends.
func WaitTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
