package focus_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/internal/testpeer"
	"github.com/emiago/sipgo/sip"
)

// outcome is what the focus must do with one torture message on one
// transport.
type outcome struct {
	codes    []int  // the final answers; none means silence
	header   string // a header the first answer must carry
	admitted bool   // the INVITE reached the Admit hook (the test's hook refuses with 403)
	closed   bool   // stream transports: the focus closes the connection after answering
	waits    bool   // stream transports: the message is not complete, the focus waits for more
}

func answer(code int) outcome               { return outcome{codes: []int{code}} }
func answerWith(code int, h string) outcome { return outcome{codes: []int{code}, header: h} }

var (
	processed = outcome{codes: []int{403}, admitted: true} // parsed, checked, handed to the application
	silence   = outcome{}                                  // a response with no client transaction is dropped (RFC 3261 18.1.2)
	rejected  = answer(400)
	// On a stream a message that cannot be parsed leaves no boundary to
	// resynchronise on: 400, then the connection closes.
	rejectedClose = outcome{codes: []int{400}, closed: true}
	// A stream whose message is not complete yet: nothing can be answered,
	// the connection waits for more bytes.
	waiting = outcome{waits: true}
	dropped = outcome{closed: true} // a broken response on a stream: nothing to answer, connection closed
)

// tortureRow is one message of RFC 4475 section 3 (file name as in the
// RFC's archive, section 4) and what the RFC expects of an endpoint.
type tortureRow struct {
	file, section string
	rfc           string // the RFC's expectation, in words
	udp, tcp      outcome
}

var tortureRows = []tortureRow{
	// 3.1.1 Valid messages: parsed and processed.
	{"wsinv", "3.1.1.1", "short tortuous INVITE (white space, folding, compact forms, escaped quotes, RFC 2543 branch): processed; its To tag names no dialog of the focus, 481 (RFC 3261 12.2.2)",
		answer(481), answer(481)},
	{"intmeth", "3.1.1.2", "wide range of valid characters: an unknown method, 501", answer(501), answer(501)},
	{"esc01", "3.1.1.3", "valid % escaping: processed; the unescaped user is no room name, 404", answer(404), answer(404)},
	{"escnull", "3.1.1.4", "escaped nulls in URIs: processed; REGISTER is not served here, 405 with Allow", answerWith(405, "Allow"), answerWith(405, "Allow")},
	{"esc02", "3.1.1.5", "RE%47IST%45R is an extension method, not REGISTER: 501", answer(501), answer(501)},
	{"lwsdisp", "3.1.1.6", "no LWS between display name and <: processed", answer(200), answer(200)},
	{"longreq", "3.1.1.7", "long values in header fields: processed", processed, processed},
	{"dblreq", "3.1.1.8", "extra octets after Content-Length in a datagram are discarded; on a stream they are the next message (an INVITE without Contact, 400), whose body is 5 octets longer than its Content-Length: those are no message, the connection closes",
		answerWith(405, "Allow"), outcome{codes: []int{405, 400}, closed: true}},
	{"semiuri", "3.1.1.9", "semicolons in the URI user part: processed", answer(200), answer(200)},
	{"transports", "3.1.1.10", "varied and unknown Via transports: processed", answer(200), answer(200)},
	{"mpart01", "3.1.1.11", "multipart MIME body: processed; the focus takes a MESSAGE to any room", answer(200), answer(200)},
	{"unreason", "3.1.1.12", "response with an unusual reason phrase: parsed, no transaction, dropped", silence, silence},
	{"noreason", "3.1.1.13", "response with an empty reason phrase: parsed, no transaction, dropped", silence, silence},

	// 3.1.2 Invalid messages: 400 for requests, responses dropped.
	{"badinv01", "3.1.2.1", "extraneous header field separators: 400", rejected, rejectedClose},
	{"clerr", "3.1.2.2", "Content-Length larger than the message: 400 over UDP; a stream waits for the rest", rejected, waiting},
	{"ncl", "3.1.2.3", "negative Content-Length: 400", rejected, rejectedClose},
	{"scalar02", "3.1.2.4", "request scalar fields with overlarge values: 400", rejected, rejectedClose},
	{"scalarlg", "3.1.2.5", "response scalar fields with overlarge values: dropped", silence, dropped},
	{"quotbal", "3.1.2.6", "unterminated quoted string in display name: 400", rejected, rejectedClose},
	{"ltgtruri", "3.1.2.7", "<> enclosing the Request-URI: 400", rejected, rejectedClose},
	{"lwsruri", "3.1.2.8", "malformed SIP Request-URI (embedded LWS): 400", rejected, rejectedClose},
	{"lwsstart", "3.1.2.9", "multiple SP separating Request-Line elements: 400", rejected, rejectedClose},
	{"trws", "3.1.2.10", "SP at the end of the Request-Line: 400", rejected, rejectedClose},
	{"escruri", "3.1.2.11", "escaped headers in the Request-URI: 400 (rejecting is what the RFC allows first)", rejected, rejected},
	{"baddate", "3.1.2.12", "non-GMT Date: may be ignored; the focus does not use Date, processed", processed, processed},
	{"regbadct", "3.1.2.13", "addr-spec Contact with a header part: may be read liberally; REGISTER is not served here, 405", answerWith(405, "Allow"), answerWith(405, "Allow")},
	{"badaspec", "3.1.2.14", "spaces within addr-spec: 400", rejected, rejectedClose},
	{"baddn", "3.1.2.15", "non-token characters in an unquoted display name, and no empty line: 400; a stream waits for the end of the headers", rejected, waiting},
	{"badvers", "3.1.2.16", "unknown protocol version: 505", answer(505), answer(505)},
	{"mismatch01", "3.1.2.17", "start line and CSeq method mismatch: 400", rejected, rejected},
	{"mismatch02", "3.1.2.18", "unknown method with a CSeq mismatch: 501 (or 400)", answer(501), answer(501)},
	{"bigcode", "3.1.2.19", "overlarge response code: dropped", silence, dropped},

	// 3.2 Transaction layer semantics.
	{"badbranch", "3.2.1", "branch is only the magic cookie: matched by RFC 2543 rules, processed", answer(200), answer(200)},

	// 3.3 Application layer semantics.
	{"insuf", "3.3.1", "missing Call-ID, From, To: 400", rejected, rejected},
	{"unkscm", "3.3.2", "unknown Request-URI scheme: 416", answer(416), answer(416)},
	{"novelsc", "3.3.3", "known but atypical Request-URI scheme: 416", answer(416), outcome{codes: []int{416}, closed: true}},
	{"unksm2", "3.3.4", "unknown URI schemes in header fields: processed; REGISTER is not served here, 405", answerWith(405, "Allow"), answerWith(405, "Allow")},
	{"bext01", "3.3.5", "Require names unsupported extensions: 420 listing them in Unsupported", answerWith(420, "Unsupported"), answerWith(420, "Unsupported")},
	{"invut", "3.3.6", "unknown Content-Type: 415 with Accept", answerWith(415, "Accept"), answerWith(415, "Accept")},
	{"regaut01", "3.3.7", "unknown authorization scheme: processed; REGISTER is not served here, 405", answerWith(405, "Allow"), answerWith(405, "Allow")},
	{"multi01", "3.3.8", "multiple values in single-value header fields: 400", rejected, rejected},
	{"mcl01", "3.3.9", "multiple Content-Length values: 400", rejected, rejectedClose},
	{"bcast", "3.3.10", "200 OK with a broadcast Via: dropped, never sent to 255.255.255.255", silence, silence},
	{"zeromf", "3.3.11", "Max-Forwards 0 at the endpoint it is addressed to: processed", answer(200), answer(200)},
	{"cparam01", "3.3.12", "REGISTER with a contact parameter: processed; not served here, 405", answerWith(405, "Allow"), answerWith(405, "Allow")},
	{"cparam02", "3.3.13", "REGISTER with a URI parameter: processed; not served here, 405", answerWith(405, "Allow"), answerWith(405, "Allow")},
	{"regescrt", "3.3.14", "REGISTER with an escaped header in Contact: processed; not served here, 405", answerWith(405, "Allow"), answerWith(405, "Allow")},
	{"sdp01", "3.3.15", "Accept without application/sdp: 406", answerWith(406, "Accept"), answerWith(406, "Accept")},

	// 3.4 Backward compatibility.
	{"inv2543", "3.4.1", "RFC 2543 INVITE (no branch, tag, Max-Forwards, Contact): processed; without Content-Length a stream cannot be framed, 400",
		processed, rejectedClose},
}

func readTorture(t testing.TB, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "rfc4475", file+".dat"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// callIDs lists the Call-ID values a raw message carries (dblreq has two
// messages); answers are matched to their row by them.
func callIDs(raw []byte) []string {
	var ids []string
	for _, line := range strings.Split(string(raw), "\r\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			ids = append(ids, strings.TrimSpace(val))
		}
	}
	return ids
}

// TestRFC4475Torture sends every message of RFC 4475 section 3, bit for
// bit, to a running focus over UDP and over TCP, checks the answer against
// what the RFC expects of an endpoint, and then checks that the focus
// still answers a valid OPTIONS.
func TestRFC4475Torture(t *testing.T) {
	testpeer.Integration(t)
	if inPrivateNetwork(t) {
		return
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "rfc4475", "*.dat"))
	if len(files) != 49 || len(tortureRows) != 49 {
		t.Fatalf("%d files and %d rows, want the 49 messages of RFC 4475 section 3", len(files), len(tortureRows))
	}
	var admitted sync.Map
	admit := func(_ context.Context, c focus.CallFacts) focus.Admission {
		admitted.Store(c.CallID, true)
		return focus.Admission{Verdict: focus.Forbidden}
	}
	for _, transport := range []string{"udp", "tcp"} {
		var pass int
		t.Run(transport, func(t *testing.T) {
			var udp *udpLink
			if transport == "udp" {
				udp = newUDPLink(t)
			}
			for _, row := range tortureRows {
				// A focus per message: the RFC's messages share branches
				// (z9hG4bKkdjuw) and would match each other's transactions
				// (RFC 3261 17.2.3) on one focus.
				f, _, _ := startFocus(t, focus.Config{Admit: admit})
				var link tortureLink = udp
				want := row.udp
				if transport == "tcp" {
					want = row.tcp
					link = newTCPLink(t, f.Addr())
				} else {
					udp.to = net.UDPAddrFromAddrPort(f.Addr())
				}
				ok := t.Run(row.section+"_"+row.file, func(t *testing.T) {
					raw := readTorture(t, row.file)
					checkTorture(t, f, link, row, want, raw, &admitted)
				})
				if ok {
					pass++
				}
				if transport == "tcp" {
					link.close()
				}
			}
			t.Logf("RFC 4475 over %s: %d of %d handled as the RFC expects", transport, pass, len(tortureRows))
		})
	}
}

func checkTorture(t *testing.T, f *focus.Focus, link tortureLink, row tortureRow, want outcome, raw []byte, admitted *sync.Map) {
	ids := callIDs(raw)
	belongs := func(m sip.Message) bool {
		c := m.CallID()
		if c == nil {
			return len(ids) == 0
		}
		for _, id := range ids {
			if c.Value() == id {
				return true
			}
		}
		return false
	}
	link.send(t, raw)
	var got []*sip.Response
	deadline := time.After(5 * time.Second)
	for len(got) < len(want.codes) {
		select {
		case m, ok := <-link.messages():
			if !ok {
				t.Fatalf("connection closed after %s, want answers %v", codes(got), want.codes)
			}
			if res, isRes := m.(*sip.Response); isRes && belongs(m) && res.StatusCode >= 200 {
				got = append(got, res)
				ackNonSuccess(link, t, raw, res)
			}
		case <-deadline:
			t.Fatalf("answers %s, want %v (RFC 4475 %s: %s)", codes(got), want.codes, row.section, row.rfc)
		}
	}
	// Answers to the messages of one read come in any order: sipgo handles
	// each request on a goroutine of its own.
	slices.SortFunc(got, func(a, b *sip.Response) int {
		return slices.Index(want.codes, a.StatusCode) - slices.Index(want.codes, b.StatusCode)
	})
	for i, res := range got {
		if res.StatusCode != want.codes[i] {
			t.Fatalf("answered %s, want %v (RFC 4475 %s: %s)", codes(got), want.codes, row.section, row.rfc)
		}
	}
	for _, res := range got {
		// A response's Via equals the request's (RFC 3261 8.2.6.2): the
		// branch the focus makes up for RFC 2543 requests stays inside.
		if via := res.Via(); via != nil {
			if b, _ := via.Params.Get("branch"); strings.Contains(b, "cx2543") {
				t.Errorf("%d carries the made-up branch %s", res.StatusCode, b)
			}
		}
	}
	if want.header != "" && got[0].GetHeader(want.header) == nil {
		t.Errorf("%d without %s", got[0].StatusCode, want.header)
	}
	if want.admitted {
		for _, id := range ids {
			if _, ok := admitted.Load(id); !ok {
				t.Errorf("call %s never reached the Admit hook", id)
			}
		}
	}

	// The connection is closed or stays usable; either way the focus
	// answers a valid OPTIONS, on this connection if it is still open.
	probe := link
	switch {
	case want.closed:
		if !link.waitClosed() {
			t.Errorf("connection still open after %s, want it closed", codes(got))
		}
		probe = link.reopen(t)
	case want.waits:
		// The focus is waiting for the rest of this message: every byte
		// sent now would belong to it.
		probe = link.reopen(t)
	}
	extra := probeOptions(t, f, probe, belongs)
	if len(extra) > 0 {
		t.Errorf("answered %s and then %s, want only %v", codes(got), codes(extra), want.codes)
	}
	if probe != link {
		probe.close()
	}
}

// probeOptions sends a valid OPTIONS and waits for its 200; it returns the
// answers belonging to the row that arrived meanwhile.
func probeOptions(t *testing.T, f *focus.Focus, link tortureLink, belongs func(sip.Message) bool) []*sip.Response {
	t.Helper()
	id := "probe-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	local := link.localAddr()
	transport := "UDP"
	if link.stream() {
		transport = "TCP"
	}
	link.send(t, []byte("OPTIONS sip:probe@"+f.Addr().String()+" SIP/2.0\r\nVia: SIP/2.0/"+transport+" "+local+";branch=z9hG4bK"+id+
		"\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: "+id+
		"\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"))
	var extra []*sip.Response
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-link.messages():
			if !ok {
				t.Fatal("connection closed before the OPTIONS probe was answered")
			}
			res, isRes := m.(*sip.Response)
			if !isRes {
				continue
			}
			if c := res.CallID(); c != nil && c.Value() == id {
				if res.StatusCode != 200 {
					t.Fatalf("OPTIONS probe answered %d", res.StatusCode)
				}
				if !link.stream() {
					// A datagram answer to the row could still be on its way.
					grace := time.After(300 * time.Millisecond)
					for {
						select {
						case m := <-link.messages():
							if r, ok := m.(*sip.Response); ok && belongs(m) && r.StatusCode >= 200 {
								extra = append(extra, r)
							}
						case <-grace:
							return extra
						}
					}
				}
				return extra
			}
			if belongs(m) && res.StatusCode >= 200 {
				extra = append(extra, res)
			}
		case <-deadline:
			t.Fatal("the focus did not answer a valid OPTIONS")
		}
	}
}

// ackNonSuccess ACKs a final non-2xx answer to an INVITE (RFC 3261
// 17.1.1.3), so the focus stops retransmitting it.
func ackNonSuccess(link tortureLink, t *testing.T, raw []byte, res *sip.Response) {
	cseq, via := res.CSeq(), res.Via()
	if cseq == nil || cseq.MethodName != sip.INVITE || res.StatusCode < 300 || via == nil || res.From() == nil || res.To() == nil || res.CallID() == nil {
		return
	}
	first, _, _ := bytes.Cut(raw, []byte("\r\n"))
	parts := strings.Split(string(first), " ")
	if len(parts) != 3 || !strings.HasPrefix(parts[1], "sip:") {
		return // the request line itself was broken; the 400 was stateless
	}
	var vias []string
	for _, h := range res.GetHeaders("Via") {
		vias = append(vias, "Via: "+h.Value())
	}
	link.send(t, []byte("ACK "+parts[1]+" SIP/2.0\r\n"+strings.Join(vias[:1], "\r\n")+"\r\nMax-Forwards: 70\r\nFrom: "+res.From().Value()+
		"\r\nTo: "+res.To().Value()+"\r\nCall-ID: "+res.CallID().Value()+"\r\nCSeq: "+strconv.Itoa(int(cseq.SeqNo))+" ACK\r\nContent-Length: 0\r\n\r\n"))
}

// parseAnswer parses what the focus sent. A 400 copies the broken headers
// of the request it answers (RFC 3261 8.2.6), so one that does not parse is
// read from its status line and Call-ID alone.
func parseAnswer(b []byte) sip.Message {
	if m, err := sip.ParseMessage(append([]byte(nil), b...)); err == nil {
		return m
	}
	lines := strings.Split(string(b), "\r\n")
	parts := strings.SplitN(lines[0], " ", 3)
	if len(parts) < 2 || parts[0] != "SIP/2.0" {
		return nil
	}
	code, err := strconv.Atoi(parts[1])
	if err != nil {
		return nil
	}
	res := sip.NewResponse(code, "")
	for _, l := range lines[1:] {
		if name, val, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "call-id") {
			id := sip.CallIDHeader(strings.TrimSpace(val))
			res.AppendHeader(&id)
		}
	}
	return res
}

func codes(rs []*sip.Response) string {
	if len(rs) == 0 {
		return "nothing"
	}
	var s []string
	for _, r := range rs {
		s = append(s, strconv.Itoa(r.StatusCode))
	}
	return strings.Join(s, ", ")
}

// tortureLink is one client transport to the focus.
type tortureLink interface {
	send(t *testing.T, b []byte)
	messages() <-chan sip.Message
	localAddr() string
	stream() bool
	waitClosed() bool
	reopen(t *testing.T) tortureLink
	close()
}

// udpLink listens on 127.0.0.1:5060: most torture messages name no port in
// their Via, and RFC 3261 18.2.2 sends the answer to the source address at
// the Via's port, 5060 by default.
type udpLink struct {
	conn *net.UDPConn
	to   *net.UDPAddr
	msgs chan sip.Message
}

func newUDPLink(t *testing.T) *udpLink {
	t.Helper()
	// Other tests may hold the port for a while: wait for it.
	var c *net.UDPConn
	var err error
	for wait := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060})
		if err == nil || time.Now().After(wait) {
			break
		}
	}
	if err != nil {
		t.Fatalf("the UDP torture test needs 127.0.0.1:5060, where RFC 3261 18.2.2 sends answers to a Via without port: %v", err)
	}
	l := &udpLink{conn: c, msgs: make(chan sip.Message, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if m := parseAnswer(buf[:n]); m != nil {
				l.msgs <- m
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return l
}

func (l *udpLink) send(t *testing.T, b []byte) {
	if _, err := l.conn.WriteToUDP(b, l.to); err != nil {
		t.Fatal(err)
	}
}
func (l *udpLink) messages() <-chan sip.Message  { return l.msgs }
func (l *udpLink) localAddr() string             { return l.conn.LocalAddr().String() }
func (l *udpLink) stream() bool                  { return false }
func (l *udpLink) waitClosed() bool              { return false }
func (l *udpLink) reopen(*testing.T) tortureLink { return l }
func (l *udpLink) close()                        {}

// tcpLink is one TCP connection; messages closes when the focus closes it.
type tcpLink struct {
	conn  net.Conn
	focus string
	msgs  chan sip.Message
	eof   chan struct{}
}

func newTCPLink(t *testing.T, focusAddr interface{ String() string }) *tcpLink {
	t.Helper()
	c, err := net.Dial("tcp", focusAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	l := &tcpLink{conn: c, focus: focusAddr.String(), msgs: make(chan sip.Message, 64), eof: make(chan struct{})}
	go func() {
		defer close(l.eof)
		defer close(l.msgs)
		var in []byte
		buf := make([]byte, 65535)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			in = append(in, buf[:n]...)
			for {
				end := bytes.Index(in, []byte("\r\n\r\n"))
				if end < 0 {
					break
				}
				size := end + 4
				for _, line := range strings.Split(string(in[:end]), "\r\n") {
					if name, val, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "content-length") {
						cl, _ := strconv.Atoi(strings.TrimSpace(val))
						size += cl
					}
				}
				if len(in) < size {
					break
				}
				if m := parseAnswer(in[:size]); m != nil {
					l.msgs <- m
				}
				in = in[size:]
			}
		}
	}()
	return l
}

func (l *tcpLink) send(t *testing.T, b []byte) {
	if _, err := l.conn.Write(b); err != nil && !errors.Is(err, io.EOF) {
		t.Logf("writing on TCP: %v", err)
	}
}
func (l *tcpLink) messages() <-chan sip.Message { return l.msgs }
func (l *tcpLink) localAddr() string            { return l.conn.LocalAddr().String() }
func (l *tcpLink) stream() bool                 { return true }
func (l *tcpLink) waitClosed() bool {
	for {
		select {
		case _, ok := <-l.msgs:
			if !ok {
				return true
			}
		case <-time.After(5 * time.Second):
			return false
		}
	}
}
func (l *tcpLink) reopen(t *testing.T) tortureLink { return newTCPLink(t, stringer(l.focus)) }
func (l *tcpLink) close() {
	l.conn.Close()
	<-l.eof
}

type stringer string

func (s stringer) String() string { return string(s) }

// privateNetEnv marks the run of this test inside its own network
// namespace.
const privateNetEnv = "CUSAX_TORTURE_PRIVATE_NET"

// inPrivateNetwork runs TestRFC4475Torture again in a network namespace of
// its own when it can (root, unshare and ip at hand), and reports whether
// it did: the UDP half needs 127.0.0.1:5060, the port a developer's own SIP
// server may hold, and a private loopback neither takes it from them nor
// waits for it. Elsewhere the test runs here and waits for the port.
func inPrivateNetwork(t *testing.T) bool {
	t.Helper()
	if os.Getenv(privateNetEnv) != "" || os.Geteuid() != 0 {
		return false
	}
	unshare, err1 := exec.LookPath("unshare")
	ip, err2 := exec.LookPath("ip")
	if err1 != nil || err2 != nil {
		return false
	}
	cmd := exec.Command(unshare, "--net", "--", "sh", "-c", `"$1" link set lo up && exec "$2" -test.run '^TestRFC4475Torture$' -test.v`,
		"sh", ip, os.Args[0])
	cmd.Env = append(os.Environ(), privateNetEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "unshare failed") {
		return false // no namespaces here (a container without the capability)
	}
	if err != nil {
		t.Errorf("the torture test failed in its network namespace: %v\n%s", err, out)
		return true
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("passed in a private network namespace; last lines:\n%s", strings.Join(lines[max(0, len(lines)-4):], "\n"))
	return true
}
