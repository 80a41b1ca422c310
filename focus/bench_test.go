package focus_test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/mixer"
)

// loadGen is a Go SIP load generator: each worker owns a UDP socket and
// runs calls INVITE -> 200 -> ACK -> BYE -> 200 back to back, timing the
// INVITE to its 200 (the call setup).
type loadGen struct {
	focus netip.AddrPort
	body  string
}

func newLoadGen(f netip.AddrPort) *loadGen {
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	return &loadGen{focus: f, body: body}
}

// call runs one call on conn and returns its setup time.
func (g *loadGen) call(conn *net.UDPConn, buf []byte, room string, n int) (time.Duration, error) {
	local := conn.LocalAddr().String()
	callID := fmt.Sprintf("bench-%s-%d", local, n)
	head := func(method string, cseq int, toTag string) string {
		to := "<sip:" + room + "@example.test>"
		if toTag != "" {
			to += ";tag=" + toTag
		}
		return method + " sip:" + room + "@" + g.focus.String() + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK" + callID + method +
			"\r\nMax-Forwards: 70\r\nFrom: <sip:load@127.0.0.1>;tag=f" + strconv.Itoa(n) + "\r\nTo: " + to + "\r\nCall-ID: " + callID +
			"\r\nCSeq: " + strconv.Itoa(cseq) + " " + method + "\r\nContact: <sip:load@" + local + ">\r\n"
	}
	start := time.Now()
	inv := head("INVITE", 1, "") + "Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(g.body)) + "\r\n\r\n" + g.body
	if _, err := conn.WriteToUDPAddrPort([]byte(inv), g.focus); err != nil {
		return 0, err
	}
	toTag, err := g.await(conn, buf, callID, "INVITE")
	if err != nil {
		return 0, err
	}
	setup := time.Since(start)
	if _, err := conn.WriteToUDPAddrPort([]byte(head("ACK", 1, toTag)+"Content-Length: 0\r\n\r\n"), g.focus); err != nil {
		return 0, err
	}
	if _, err := conn.WriteToUDPAddrPort([]byte(head("BYE", 2, toTag)+"Content-Length: 0\r\n\r\n"), g.focus); err != nil {
		return 0, err
	}
	if _, err := g.await(conn, buf, callID, "BYE"); err != nil {
		return 0, err
	}
	return setup, nil
}

// await reads until the 200 to method of callID and returns its To tag.
func (g *loadGen) await(conn *net.UDPConn, buf []byte, callID, method string) (string, error) {
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	want := []byte(" " + method + "\r\n")
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return "", fmt.Errorf("waiting for 200 to %s: %w", method, err)
		}
		msg := buf[:n]
		if !bytes.Contains(msg, []byte(callID)) || !bytes.Contains(msg, want) || bytes.HasPrefix(msg, []byte("SIP/2.0 100")) {
			continue
		}
		if !bytes.HasPrefix(msg, []byte("SIP/2.0 200")) {
			return "", fmt.Errorf("%s answered %q", method, bytes.SplitN(msg, []byte("\r\n"), 2)[0])
		}
		i := bytes.Index(msg, []byte("\r\nTo:"))
		line := msg[i+2:]
		line = line[:bytes.Index(line, []byte("\r\n"))]
		_, tag, _ := bytes.Cut(line, []byte("tag="))
		if j := bytes.IndexAny(tag, ";> "); j >= 0 {
			tag = tag[:j]
		}
		return string(tag), nil
	}
}

// runLoad runs total calls over workers sockets; interval > 0 paces the
// starts at one call per interval overall. It returns the setup times.
func runLoad(b *testing.B, f *focus.Focus, workers, total int, interval time.Duration) []time.Duration {
	g := newLoadGen(f.Addr())
	var (
		next   atomic.Int64
		mu     sync.Mutex
		setups = make([]time.Duration, 0, total)
		wg     sync.WaitGroup
		errs   atomic.Int64
	)
	start := time.Now()
	for w := 0; w < workers; w++ {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			buf := make([]byte, 65535)
			room := "bench" + strconv.Itoa(w)
			for {
				n := int(next.Add(1)) - 1
				if n >= total {
					return
				}
				if interval > 0 {
					if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
						time.Sleep(d)
					}
				}
				d, err := g.call(conn, buf, room, n)
				if err != nil {
					if errs.Add(1) == 1 {
						b.Error(err)
					}
					continue
				}
				mu.Lock()
				setups = append(setups, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return setups
}

func benchFocus(b *testing.B) *focus.Focus {
	f, _, _ := startFocus(b, focus.Config{InviteRate: 1e9, InviteBurst: 1 << 30, OnEvent: func(focus.Event) {}})
	return f
}

func report(b *testing.B, setups []time.Duration, elapsed time.Duration) {
	if len(setups) == 0 {
		return
	}
	slices.Sort(setups)
	pct := func(p float64) float64 {
		return float64(setups[min(len(setups)-1, int(p*float64(len(setups))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(setups))/elapsed.Seconds(), "setups/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCallSetup measures the most call setups per second the focus
// takes (INVITE -> 200 -> ACK -> BYE, 32 callers in parallel, loopback,
// fake media engine so the figure is the SIP side alone).
func BenchmarkCallSetup(b *testing.B) {
	f := benchFocus(b)
	b.ResetTimer()
	start := time.Now()
	setups := runLoad(b, f, 32, b.N, 0)
	report(b, setups, time.Since(start))
}

// BenchmarkCallSetupPaced500 measures setup latency at a steady 500 calls
// per second.
func BenchmarkCallSetupPaced500(b *testing.B) {
	f := benchFocus(b)
	b.ResetTimer()
	start := time.Now()
	setups := runLoad(b, f, 32, b.N, 2*time.Millisecond)
	report(b, setups, time.Since(start))
}

// BenchmarkCallSetupMixer is BenchmarkCallSetup with the real mixer, so
// each call also binds and releases its RTP/RTCP port pair.
func BenchmarkCallSetupMixer(b *testing.B) {
	m, err := mixer.New(mixer.Config{BindAddr: netip.MustParseAddr("127.0.0.1"), PortMin: 43000, PortMax: 43999, Metrics: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	f, _, _ := startFocus(b, focus.Config{InviteRate: 1e9, InviteBurst: 1 << 30, OnEvent: func(focus.Event) {}, Media: focus.NewMixerMedia(m)})
	b.ResetTimer()
	start := time.Now()
	setups := runLoad(b, f, 32, b.N, 0)
	report(b, setups, time.Since(start))
}
