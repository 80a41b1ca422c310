package focus_test

import (
	"context"
	"crypto/tls"
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
	_, certFile, keyFile = testCA(t)
	return certFile, keyFile
}

// testCA writes a throwaway CA and a certificate for 127.0.0.1 it signed.
func testCA(t *testing.T) (caFile, certFile, keyFile string) { return testpeer.CA(t) }

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

// A baresip phone that dials sip:room@host:port;transport=tls with the
// test's CA completes the call and hears a phone on UDP: the focus's 200
// names a sip: Contact with transport=tls (the scheme the caller used,
// RFC 5630), where baresip sends its ACK; a sips: Contact it cannot use.
func TestBaresipOverTLS(t *testing.T) {
	testpeer.Integration(t)
	testpeer.Need(t, "baresip")
	ca, cert, key := testCA(t)
	tlsAddr := "127.0.0.1:" + strconv.Itoa(testpeer.FreeTCPPort(t))
	f, reg := realFocusWith(t, focus.Config{Domain: "127.0.0.1", TLSListen: tlsAddr, TLSCert: cert, TLSKey: key})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	a := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneWAV(t, 1000, 30), CAFile: ca})
	b := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneWAV(t, 440, 30)})
	if err := a.Dial(ctx, "sip:tlsroom@"+tlsAddr+";transport=tls"); err != nil {
		t.Fatal(err)
	}
	if err := b.Dial(ctx, "sip:tlsroom@"+f.Addr().String()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two connected legs, one over TLS", func() bool {
		legs := f.Legs("tlsroom")
		return len(legs) == 2 && legs[0].State == "connected" && legs[1].State == "connected"
	})
	time.Sleep(4 * time.Second) // let audio flow: the recordings are what is checked
	for _, l := range f.Legs("tlsroom") {
		if err := f.Kick(ctx, l.CallID, "test over"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "room empty", func() bool { return len(f.Legs("")) == 0 })
	released(t, reg)
	hearEachOther(t, a, b) // alice over TLS, bob over UDP
}
