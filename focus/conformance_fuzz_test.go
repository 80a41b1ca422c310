package focus_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cusax.dev/bridge/focus"
	"github.com/emiago/sipgo/sip"
)

// panicCounter counts the handler panics the focus's guard recovered.
type panicCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h panicCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h panicCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && strings.Contains(r.Message, "panicked") {
		h.n.Add(1)
	}
	return nil
}
func (h panicCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicCounter) WithGroup(string) slog.Handler      { return h }

// FuzzRequestPath feeds transport bytes to the whole request path of a
// running focus: as one UDP datagram (wire checks, sipgo's parser and
// transactions, the guard and the method handlers), then through the
// TCP/TLS stream framing. Seeded with the messages of RFC 4475. Nothing may
// panic, a handler included; the focus must answer a valid OPTIONS after
// every input; what the framing passes on must parse, and what it answers
// on the connection must be a 4xx. The focus refuses every call and knows
// no room, so it sends nothing but answers, and those only to 127.0.0.1.
func FuzzRequestPath(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rfc4475", "*.dat"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	var panics atomic.Int64
	fz, _, _ := startFocus(f, focus.Config{
		RequireExistingRooms: true,
		Logger:               slog.New(panicCounter{n: &panics}),
		Admit: func(context.Context, focus.CallFacts) focus.Admission {
			return focus.Admission{Verdict: focus.Forbidden}
		},
	})
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { conn.Close() })
	to := net.UDPAddrFromAddrPort(fz.Addr())
	local := conn.LocalAddr().String()
	var probes atomic.Int64
	buf := make([]byte, 65535)

	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := conn.WriteToUDP(data, to); err != nil {
			t.Skip("not a datagram:", err) // e.g. larger than UDP allows
		}
		id := "fuzz-probe-" + strconv.FormatInt(probes.Add(1), 10)
		probe := "OPTIONS sip:probe@" + to.String() + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK" + id +
			"\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: " + id +
			"\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		if _, err := conn.WriteToUDP([]byte(probe), to); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("the focus did not answer a valid OPTIONS after %q: %v", data, err)
			}
			if bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200 ")) && bytes.Contains(buf[:n], []byte("Call-ID: "+id+"\r\n")) {
				break
			}
		}
		if n := panics.Load(); n > 0 {
			t.Fatalf("a handler panicked on %q", data)
		}

		chunks, written := focus.FrameStream(fz, data)
		for _, c := range chunks {
			if len(bytes.Trim(c, "\r\n")) == 0 {
				continue // keep-alive
			}
			n := 0
			if err := sip.NewParser().NewSIPStream().ParseSIPStream(c, func(sip.Message) { n++ }); err != nil || n != 1 {
				t.Fatalf("framing passed on %q, %d messages as a stream (%v), want exactly one", c, n, err)
			}
		}
		if len(written) > 0 && !bytes.HasPrefix(written, []byte("SIP/2.0 4")) {
			t.Fatalf("framing answered %q", written)
		}
	})
}
