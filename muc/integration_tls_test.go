package muc_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
)

func caPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the CA file")
	}
	return p
}

// TestComponentLinkOverTLS: against ejabberd's ejabberd_service listener
// with tls: true, the component link comes up over TLS when the server's
// certificate checks out against the CA it was given (RFC 7590), and never
// comes up, saying why, when it does not.
func TestComponentLinkOverTLS(t *testing.T) {
	ej := muctest.NewEjabberd(t, muctest.EjabberdConfig{TLS: true})
	ca := ej.CAFile
	cfg := muc.Config{Domain: ej.Component, ComponentAddr: ej.ComponentAddr, Secret: ej.ComponentSecret, SIPDomain: "127.0.0.1",
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		ComponentTLS: &tls.Config{RootCAs: caPool(t, ca), ServerName: "example.test", MinVersion: tls.VersionTLS12}}
	var goodLogs testpeer.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&goodLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the TLS link's logs:\n%s\nejabberd's:\n%s", goodLogs.String()[:min(3000, len(goodLogs.String()))], ej.Log())
		}
	})
	s, _ := muctest.StartService(t, nil, ej.Component, cfg)
	cfg.Logger = nil
	if !s.Ready() {
		t.Fatal("the link over TLS is not up")
	}

	otherCA, _, _ := testpeer.CA(t)
	var logs testpeer.Buffer
	bad := cfg
	bad.ComponentTLS = &tls.Config{RootCAs: caPool(t, otherCA), ServerName: "example.test", MinVersion: tls.VersionTLS12}
	bad.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	svc, err := muc.New(bad)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "certificate") {
		if svc.Ready() {
			t.Fatal("the link came up with a certificate from an unknown CA")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate error logged in 10 s; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if svc.Ready() {
		t.Error("the link is up with a certificate from an unknown CA")
	}
}
