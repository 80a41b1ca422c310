package focus_test

import (
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"cusax.dev/bridge/focus"
)

// TestGarbageStormLeavesCallsAlone throws a few hundred broken and mutated
// messages at the focus while a call is up: the call must stay connected
// and the focus must keep answering.
func TestGarbageStormLeavesCallsAlone(t *testing.T) {
	f, _, _ := startFocus(t, focus.Config{InviteRate: 1e6, InviteBurst: 1 << 20})
	p := newRawPhone(t, f)
	c := p.Call("calm")
	if res := c.Invite("", offer(40000, "0")); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	waitFor(t, "connected", func() bool { l := f.Legs("calm"); return len(l) == 1 && l[0].State == "connected" })

	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(f.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() { // drain answers so the socket never blocks
		buf := make([]byte, 65535)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	templ := strings.ReplaceAll(p.Call("storm").Request("INVITE", "Content-Type: application/sdp\n", offer(40002, "0 8 101", "a=rtpmap:101 telephone-event/8000")), "\n", "\r\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		b := []byte(templ)
		switch i % 5 {
		case 0: // truncated
			b = b[:rng.IntN(len(b))]
		case 1: // flipped bytes
			for j := 0; j < 1+rng.IntN(8); j++ {
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
			}
		case 2: // a header line duplicated many times
			b = []byte(strings.Replace(templ, "Max-Forwards: 70\r\n", strings.Repeat("Max-Forwards: 70\r\n", 200), 1))
		case 3: // random bytes
			b = make([]byte, 1+rng.IntN(1400))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
		case 4: // in-dialog requests with a stranger's tags
			m := []string{"BYE", "INFO", "UPDATE", "INVITE", "SUBSCRIBE", "MESSAGE", "REFER"}[rng.IntN(7)]
			b = []byte(strings.ReplaceAll(strings.Replace(strings.Replace(templ, "INVITE sip:", m+" sip:", 1), " INVITE\r\n", " "+m+"\r\n", 1), "To: <sip:storm@example.test>", "To: <sip:storm@example.test>;tag=nobody"))
		}
		conn.Write(b)
	}
	time.Sleep(200 * time.Millisecond)
	if l := f.Legs("calm"); len(l) != 1 || l[0].State != "connected" {
		t.Fatalf("the call did not survive: %+v", l)
	}
	c.Send("OPTIONS", "", "")
	if res := p.ResponseTo(c.CallID, sip.OPTIONS, false); res.StatusCode != 200 {
		t.Fatalf("OPTIONS after the storm answered %d", res.StatusCode)
	}
	if res := c.Bye(); res.StatusCode != 200 {
		t.Fatalf("BYE after the storm answered %d", res.StatusCode)
	}
}
