package focus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
)

// selfSigned writes a throwaway certificate for 127.0.0.1.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestTLSListener(t *testing.T) {
	cert, key := selfSigned(t)
	addr := "127.0.0.1:" + strconv.Itoa(testpeer.FreeTCPPort(t))
	secure := make(chan bool, 1)
	f, _, _ := startFocus(t, focus.Config{TLSListen: addr, TLSCert: cert, TLSKey: key,
		Admit: func(_ context.Context, c focus.CallFacts) focus.Admission {
			secure <- c.Secure
			return focus.Admission{Verdict: focus.Moved, Contact: "sips:127.0.0.1:5999"}
		}})
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	req := "OPTIONS sips:room@" + addr + " SIP/2.0\r\nVia: SIP/2.0/TLS " + local + ";branch=z9hG4bKtls1\r\nMax-Forwards: 70\r\nFrom: <sips:a@127.0.0.1>;tag=1\r\nTo: <sips:room@127.0.0.1>\r\nCall-ID: tls1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200 OK") {
		t.Fatalf("OPTIONS over TLS: %q", buf[:n])
	}
	_ = f

	// A call over TLS is marked Secure for the admission hook, which sends
	// it to another node's TLS listener.
	sdp := strings.ReplaceAll(focustest.Offer(40000, "0"), "\n", "\r\n")
	invite := "INVITE sips:room@" + addr + " SIP/2.0\r\nVia: SIP/2.0/TLS " + local + ";branch=z9hG4bKtls2\r\nMax-Forwards: 70\r\nFrom: <sips:a@127.0.0.1>;tag=2\r\nTo: <sips:room@127.0.0.1>\r\nCall-ID: tls2\r\nCSeq: 1 INVITE\r\nContact: <sips:a@" + local + ">\r\nContent-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
	if _, err := conn.Write([]byte(invite)); err != nil {
		t.Fatal(err)
	}
	var got string
	for !strings.Contains(got, "SIP/2.0 302") {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("INVITE over TLS: %v after %q", err, got)
		}
		got += string(buf[:n])
	}
	if !strings.Contains(got, "Contact: <sips:room@127.0.0.1:5999>") {
		t.Errorf("302 over TLS: %q, want the TLS Contact", got)
	}
	select {
	case s := <-secure:
		if !s {
			t.Error("a call over TLS was not marked Secure")
		}
	default:
		t.Error("the admission hook was not asked")
	}
}
