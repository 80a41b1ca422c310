package focustest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RawPhone speaks SIP as hand-written text over UDP, so tests control every
// byte (including broken ones) and see every byte of the answers.
type RawPhone struct {
	t      testing.TB
	conn   *net.UDPConn
	focus  netip.AddrPort
	parser *sip.Parser
	// Inbox has every message the phone parsed and nobody consumed.
	Inbox chan sip.Message
	Raw   chan string // what the phone could not parse
	done  chan struct{}

	mu       sync.Mutex
	received map[sip.RequestMethod]int
}

// NewRawPhone opens a loopback UDP socket talking to focus; t.Cleanup closes it.
func NewRawPhone(t testing.TB, focus netip.AddrPort) *RawPhone {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &RawPhone{t: t, conn: c, focus: focus, parser: sip.NewParser(), Inbox: make(chan sip.Message, 64), Raw: make(chan string, 8), done: make(chan struct{})}
	go p.read()
	t.Cleanup(func() { c.Close(); <-p.done })
	return p
}

func (p *RawPhone) read() {
	defer close(p.done)
	buf := make([]byte, 65535)
	for {
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg, err := p.parser.ParseSIP(append([]byte(nil), buf[:n]...))
		if err != nil {
			select {
			case p.Raw <- string(buf[:n]):
			default:
			}
			continue
		}
		if req, ok := msg.(*sip.Request); ok {
			p.mu.Lock()
			if p.received == nil {
				p.received = map[sip.RequestMethod]int{}
			}
			p.received[req.Method]++
			p.mu.Unlock()
		}
		select {
		case p.Inbox <- msg:
		default:
		}
	}
}

// Received counts the requests of one method the phone got from the focus
// (retransmissions included), consumed or not.
func (p *RawPhone) Received(method sip.RequestMethod) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received[method]
}

// Addr is the phone's address.
func (p *RawPhone) Addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Send writes a message, turning \n into CRLF.
func (p *RawPhone) Send(text string) {
	p.t.Helper()
	text = strings.ReplaceAll(text, "\n", "\r\n")
	text = strings.ReplaceAll(text, "\r\r\n", "\r\n")
	if _, err := p.conn.WriteToUDPAddrPort([]byte(text), p.focus); err != nil {
		p.t.Fatal(err)
	}
}

// Response waits for a response to method with a final status (or a
// provisional one when asked), from any call.
func (p *RawPhone) Response(method sip.RequestMethod, wantProvisional bool) *sip.Response {
	p.t.Helper()
	return p.ResponseTo("", method, wantProvisional)
}

// ResponseTo is Response for one Call-ID ("" = any); responses of other
// calls are dropped.
func (p *RawPhone) ResponseTo(callID string, method sip.RequestMethod, wantProvisional bool) *sip.Response {
	p.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-p.Inbox:
			res, ok := m.(*sip.Response)
			if !ok {
				if req, ok := m.(*sip.Request); ok {
					p.autoAnswer(req)
				}
				continue
			}
			if res.CSeq().MethodName != method || (callID != "" && res.CallID().Value() != callID) {
				continue
			}
			if res.IsProvisional() && !wantProvisional {
				continue
			}
			return res
		case <-deadline:
			p.t.Fatalf("no %s response", method)
			return nil
		}
	}
}

// Request waits for a request of the given method from the focus.
func (p *RawPhone) Request(method sip.RequestMethod) *sip.Request {
	p.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-p.Inbox:
			if req, ok := m.(*sip.Request); ok && req.Method == method {
				return req
			}
		case <-deadline:
			p.t.Fatalf("no %s request", method)
			return nil
		}
	}
}

// autoAnswer answers requests the test does not wait for with 200.
func (p *RawPhone) autoAnswer(req *sip.Request) {
	if req.IsAck() {
		return
	}
	p.Reply(req, 200, "OK", "")
}

// Reply answers a request from the focus.
func (p *RawPhone) Reply(req *sip.Request, code int, reason, extra string) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, line := range strings.Split(strings.TrimSpace(extra), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			res.AppendHeader(sip.NewHeader(strings.TrimSpace(k), strings.TrimSpace(v)))
		}
	}
	_, _ = p.conn.WriteToUDPAddrPort([]byte(res.String()), p.focus)
}

// ReplySDP answers a request from the focus (its re-INVITE) with 200 and
// an SDP body; the Contact is the phone's own address.
func (p *RawPhone) ReplySDP(req *sip.Request, sdp string) {
	body := []byte(strings.ReplaceAll(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n", "\r\n"))
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:alice@%s>", p.Addr())))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	_, _ = p.conn.WriteToUDPAddrPort([]byte(res.String()), p.focus)
}

// Call is one dialog the raw phone holds with the focus.
type Call struct {
	P       *RawPhone
	Room    string
	CallID  string
	FromTag string
	ToTag   string
	cseq    int
}

// Call starts a dialog with a room.
func (p *RawPhone) Call(room string) *Call {
	return &Call{P: p, Room: room, CallID: fmt.Sprintf("%x@test", rand.Uint64()), FromTag: fmt.Sprintf("%x", rand.Uint32()), cseq: 1}
}

func branch() string { return fmt.Sprintf("z9hG4bK%x", rand.Uint64()) }

// Request formats a request of this Call; body gets Content-Length.
func (c *Call) Request(method, extra, body string) string {
	to := fmt.Sprintf("<sip:%s@example.test>", c.Room)
	if c.ToTag != "" {
		to += ";tag=" + c.ToTag
	}
	seq := c.cseq
	if method != "ACK" && method != "CANCEL" {
		c.cseq++
		seq = c.cseq
	}
	if extra != "" && !strings.HasSuffix(extra, "\n") {
		extra += "\n"
	}
	return fmt.Sprintf("%s sip:%s@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=%s;rport\nMax-Forwards: 70\nFrom: \"Alice\" <sip:alice@127.0.0.1>;tag=%s\nTo: %s\nCall-ID: %s\nCSeq: %d %s\nContact: <sip:alice@%s>\n%sContent-Length: %d\n\n%s",
		method, c.Room, c.P.focus, c.P.Addr(), branch(), c.FromTag, to, c.CallID, seq, method, c.P.Addr(), extra, len(strings.ReplaceAll(body, "\n", "\r\n")), body)
}

// Send sends a request of the call; a body makes it application/sdp.
func (c *Call) Send(method, extra, body string) {
	if body != "" {
		body = strings.ReplaceAll(body, "\r\n", "\n")
		extra = "Content-Type: application/sdp\n" + extra
	}
	c.P.Send(c.Request(method, extra, body))
}

// Invite sends an INVITE and returns the final response; on 2xx it ACKs
// and keeps the dialog's To tag.
func (c *Call) Invite(extra, body string) *sip.Response {
	c.P.t.Helper()
	c.Send("INVITE", extra, body)
	res := c.P.ResponseTo(c.CallID, sip.INVITE, false)
	if res.IsSuccess() {
		c.ToTag, _ = res.To().Params.Get("tag")
		c.Send("ACK", "", "")
	}
	return res
}

// Bye hangs up and returns the answer.
func (c *Call) Bye() *sip.Response {
	c.P.t.Helper()
	c.Send("BYE", "", "")
	return c.P.ResponseTo(c.CallID, sip.BYE, false)
}

// Offer is an SDP offer from the raw phone.
func Offer(port int, codecs string, extra ...string) string {
	s := fmt.Sprintf("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP %s\n", port, codecs)
	for _, e := range extra {
		s += e + "\n"
	}
	return s
}

// WaitFor polls cond until it holds or 15 s pass.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
