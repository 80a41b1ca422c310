package focus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The wire layer sits between the sockets and sipgo's transports. sipgo
// drops what it cannot parse without an answer, closes a TCP connection on
// a parse error without one, and cannot match an RFC 2543 request without
// a From tag to a transaction (it answers 400). Here every message is
// framed and parsed once before sipgo sees it: unparseable requests get a
// stateless 400 (416 for a Request-URI scheme it cannot read), and RFC 2543
// requests get a branch that carries the RFC 2543 matching rules.

// inspect decides what happens to one complete message: the bytes to pass
// to sipgo (nil: none) and a stateless answer to send back (nil: none).
// perr is the parse error of a message sipgo must not see.
func (f *Focus) inspect(data []byte) (pass, answer []byte, perr error) {
	data = normalizeHead(data)
	msg, err := sip.ParseMessage(data)
	if err != nil {
		f.metrics.malformed.Inc()
		return nil, statelessAnswer(data, err), err
	}
	if req, ok := msg.(*sip.Request); ok && f.rfc2543.adopt(req) {
		// sipgo reads it once more from what it writes: a request it reads
		// but cannot write back readably is refused like an unreadable one.
		out := []byte(req.String())
		if _, err := sip.ParseMessage(out); err != nil {
			f.metrics.malformed.Inc()
			return nil, statelessAnswer(data, err), err
		}
		return out, nil, nil
	}
	return data, nil, nil
}

// structured are the header fields (long and compact names) whose grammar
// allows white space around ";", "=", "/" and "," (RFC 3261 section 25.1:
// SEMI, EQUAL, SLASH, COMMA are SWS-padded), which sipgo does not expect:
// it reads "tag = 1" as a parameter named "tag " and "SIP / 2.0" as no
// protocol (RFC 4475 3.1.1.1).
var structured = map[string]bool{
	"via": true, "v": true, "to": true, "t": true, "from": true, "f": true, "contact": true, "m": true,
	"route": true, "record-route": true, "cseq": true, "max-forwards": true, "content-length": true, "l": true,
	"content-type": true, "c": true, "require": true, "supported": true, "k": true, "accept": true,
	"allow": true, "event": true, "o": true, "session-expires": true, "x": true, "refer-to": true, "r": true,
	"referred-by": true, "b": true, "p-asserted-identity": true, "min-se": true, "expires": true,
}

// normalizeHead rewrites the header section of a message so that the
// structured header fields carry no folding and no white space around
// their separators, outside quoted strings; what LWS the grammar allows
// means nothing there. It returns data itself when nothing changes.
func normalizeHead(data []byte) []byte {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return data
	}
	lines := strings.Split(string(data[:end]), "\r\n")
	// Join folded lines to the header they continue.
	joined := lines[:1:1]
	for _, l := range lines[1:] {
		if l != "" && (l[0] == ' ' || l[0] == '\t') && len(joined) > 1 {
			joined[len(joined)-1] += " " + strings.TrimLeft(l, " \t")
			continue
		}
		joined = append(joined, l)
	}
	changed := len(joined) != len(lines)
	for i, l := range joined[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok || !structured[strings.ToLower(strings.TrimSpace(name))] {
			continue
		}
		if v := tightenSeparators(value); v != strings.Trim(value, " \t") || strings.TrimSpace(name) != name {
			joined[i+1] = strings.TrimSpace(name) + ": " + v
			changed = true
		}
	}
	if !changed {
		return data
	}
	out := make([]byte, 0, len(data))
	out = append(out, strings.Join(joined, "\r\n")...)
	return append(out, data[end:]...)
}

// tightenSeparators trims the value and drops the white space next to ; =
// / , and runs of it elsewhere shrink to one space; quoted strings and
// <URI>s are kept as they are.
func tightenSeparators(v string) string {
	v = strings.Trim(v, " \t")
	b := make([]byte, 0, len(v))
	space, quoted, escaped, angle := false, false, false, false
	isSep := func(c byte) bool { return c == ';' || c == '=' || c == '/' || c == ',' }
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			b = append(b, c)
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				quoted = false
			}
			continue
		case angle:
			b = append(b, c)
			angle = c != '>'
			continue
		case c == ' ' || c == '\t':
			space = true
			continue
		}
		if space {
			if len(b) > 0 && !isSep(c) && !isSep(b[len(b)-1]) {
				b = append(b, ' ')
			}
			space = false
		}
		b = append(b, c)
		quoted = c == '"'
		angle = c == '<'
	}
	return string(b)
}

// streamConn frames a TCP or TLS byte stream into SIP messages by
// Content-Length (RFC 3261 section 18.3) and passes sipgo only messages
// that parse. A message that cannot be framed or parsed gets a 400 on the
// connection, then the connection ends: without a trustworthy
// Content-Length there is no next message boundary to resynchronise on.
type streamConn struct {
	net.Conn
	f      *Focus
	in     []byte // read from the peer, not yet framed
	out    []byte // framed and checked, not yet read by sipgo
	ending bool   // the answer to a broken message is out: EOF next

	// Requests passed to sipgo and not answered yet. sipgo handles them on
	// goroutines of their own; closing under them would make it answer by
	// dialling the Via's host instead.
	mu       sync.Mutex
	pending  int
	answered chan struct{}
	endWait  time.Duration // how long a connection that must close waits for those answers
}

// endWait bounds how long a connection that must close waits for the
// answers to the requests it carried before the broken one.
const endWait = 4 * time.Second

func (c *streamConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.ending {
			c.awaitAnswers()
			return 0, io.EOF
		}
		if err := c.frameNext(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// frameNext moves one message (or a run of keep-alive CRLFs) from in to
// out, reading from the peer as needed.
func (c *streamConn) frameNext() error {
	for {
		if k := leadingCRLF(c.in); k > 0 {
			// RFC 5626 keep-alives and CRLFs before a start line go on as
			// they came: sipgo answers the double CRLF ping.
			c.out, c.in = append(c.out, c.in[:k]...), c.in[k:]
			return nil
		}
		size, status := frameLength(c.in)
		switch status {
		case frameComplete:
			msg := c.in[:size]
			c.in = c.in[size:]
			pass, answer, perr := c.f.inspect(msg)
			if perr != nil {
				c.refuse(answer, perr)
				return nil
			}
			if !bytes.HasPrefix(pass, []byte("SIP/")) && !bytes.HasPrefix(pass, []byte("ACK ")) {
				c.mu.Lock()
				c.pending++
				c.mu.Unlock()
			}
			c.out = append(c.out, pass...)
			return nil
		case frameBroken:
			c.f.metrics.malformed.Inc()
			c.refuse(statelessAnswer(c.in, errUnframeable), errUnframeable)
			return nil
		}
		if len(c.in) > sip.ParseMaxMessageLength {
			c.f.log.Debug("SIP message over the size limit on a stream, closing", "from", c.RemoteAddr())
			c.ending = true
			return nil
		}
		buf := make([]byte, 16384)
		n, err := c.Conn.Read(buf)
		c.in = append(c.in, buf[:n]...)
		if err != nil && n == 0 {
			return err
		}
	}
}

// refuse answers a broken message (when it can be answered) and ends the
// connection after that answer.
func (c *streamConn) refuse(answer []byte, perr error) {
	c.f.log.Debug("malformed SIP message on a stream, closing", "from", c.RemoteAddr(), "err", perr)
	if answer != nil {
		_, _ = c.Conn.Write(answer)
	}
	c.ending = true
	c.in = nil
}

func (c *streamConn) Write(b []byte) (int, error) {
	if n, err := c.Conn.Write(c.f.rfc2543.restore(b)); err != nil {
		return n, err
	}
	if len(b) > 8 && bytes.HasPrefix(b, []byte("SIP/2.0 ")) && b[8] >= '2' {
		c.mu.Lock()
		if c.pending > 0 {
			c.pending--
		}
		c.mu.Unlock()
		select {
		case c.answered <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

// awaitAnswers waits (at most endWait) until every request passed to
// sipgo got its final answer.
func (c *streamConn) awaitAnswers() {
	deadline := time.NewTimer(c.endWait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		n := c.pending
		c.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-c.answered:
		case <-deadline.C:
			return
		}
	}
}

// streamListener hands sipgo framed connections.
type streamListener struct {
	net.Listener
	f *Focus
}

func (l *streamListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &streamConn{Conn: c, f: l.f, answered: make(chan struct{}, 1), endWait: endWait}, nil
}

var errUnframeable = errors.New("no single valid Content-Length, the message cannot be framed on a stream")

type frameStatus int

const (
	frameMore     frameStatus = iota // the headers or the body are not all here yet
	frameComplete                    // one whole message of the returned size
	frameBroken                      // the headers are here but no single valid Content-Length
)

// frameLength finds the end of the first message in data: the empty line,
// then exactly one Content-Length's worth of body.
func frameLength(data []byte) (int, frameStatus) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, frameMore
	}
	head := string(data[:end])
	length, found := -1, 0
	lines := strings.Split(head, "\r\n")
	for i, line := range lines {
		if i == 0 || line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length", "l":
		default:
			continue
		}
		// A folded value continues on the lines that start with white space.
		for j := i + 1; j < len(lines) && lines[j] != "" && (lines[j][0] == ' ' || lines[j][0] == '\t'); j++ {
			value += " " + lines[j]
		}
		found++
		n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 31)
		if err != nil {
			return 0, frameBroken
		}
		length = int(n)
	}
	if found != 1 {
		return 0, frameBroken
	}
	size := end + 4 + length
	if len(data) < size {
		return 0, frameMore
	}
	return size, frameComplete
}

func leadingCRLF(b []byte) int {
	k := 0
	for k+1 < len(b) && b[k] == '\r' && b[k+1] == '\n' {
		k += 2
	}
	return k
}

// rfc2543Branch gives requests without an RFC 3261 branch (no z9hG4bK
// cookie, or nothing after it) one that sipgo can match, derived from what
// RFC 3261 section 17.2.3 compares for them: Request-URI, From tag,
// Call-ID, CSeq number, top Via and (but for ACK and CANCEL) To tag. sipgo
// would otherwise refuse a request without From tag and match the rest on
// fewer fields. Answers get the request's own branch back (restore), since
// a response's Via must equal the request's (section 8.2.6.2).
type rfc2543Branch struct {
	mu sync.Mutex
	// answered holds the branches of INVITEs answered 2xx: their ACK is a
	// request of its own (section 13.3.1.4), not part of the transaction.
	answered map[string]time.Time
}

// rfc2543Marker starts every branch the focus makes up; what follows it is
// 16 hex digits of the matching fields, "-", and the request's own branch.
const rfc2543Marker = "z9hG4bKcx2543-"

// fromRFC2543 reports whether the request came without an RFC 3261 branch.
func fromRFC2543(req *sip.Request) bool {
	if v := req.Via(); v != nil {
		b, _ := v.Params.Get("branch")
		return strings.HasPrefix(b, rfc2543Marker)
	}
	return false
}

// adopt gives an RFC 2543 request its made-up branch; it reports whether
// the request changed.
func (s *rfc2543Branch) adopt(req *sip.Request) bool {
	via := req.Via()
	if via == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	if strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) && len(branch) > len(sip.RFC3261BranchMagicCookie) && !strings.HasPrefix(branch, rfc2543Marker) {
		return false
	}
	key := []string{req.Recipient.String(), "", "", "", "", ""}
	if h := req.From(); h != nil {
		key[1], _ = h.Params.Get("tag")
	}
	if h := req.CallID(); h != nil {
		key[2] = h.Value()
	}
	if h := req.CSeq(); h != nil {
		key[3] = strconv.FormatUint(uint64(h.SeqNo), 10)
	}
	key[4] = via.Transport + " " + via.Host + ":" + strconv.Itoa(via.Port)
	if !req.IsAck() && !req.IsCancel() {
		key[5] = toTag(req)
	}
	made := func(key []string) string {
		sum := sha256.Sum256([]byte(strings.Join(key, "\x00")))
		return rfc2543Marker + hex.EncodeToString(sum[:8]) + "-" + branch
	}
	b := made(key)
	if req.IsAck() && s.wasAnswered(b) {
		b = made(append(key, "ACK of a 2xx"))
	}
	via.Params.Add("branch", b)
	return true
}

func (s *rfc2543Branch) wasAnswered(branch string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.answered[branch]
	return ok
}

// restore puts the request's own branch back into an outgoing response
// that carries a made-up one (or takes the branch out when there was none)
// and remembers INVITEs answered 2xx.
func (s *rfc2543Branch) restore(b []byte) []byte {
	i := bytes.Index(b, []byte(";branch="+rfc2543Marker))
	if i < 0 || !bytes.HasPrefix(b, []byte("SIP/")) {
		return b
	}
	start := i + len(";branch=")
	end := start + bytes.IndexAny(b[start:], ";, \t\r")
	if end < start {
		return b
	}
	made := string(b[start:end])
	own := made[min(len(made), len(rfc2543Marker)+17):]
	if bytes.HasPrefix(b, []byte("SIP/2.0 2")) && bytes.Contains(b[:bytes.Index(b, []byte("\r\n\r\n"))+1], []byte(" INVITE\r\n")) {
		s.remember(made)
	}
	out := make([]byte, 0, len(b))
	if own == "" {
		out = append(append(out, b[:i]...), b[end:]...)
	} else {
		out = append(append(append(out, b[:start]...), own...), b[end:]...)
	}
	return out
}

func (s *rfc2543Branch) remember(branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.answered == nil {
		s.answered = map[string]time.Time{}
	}
	for b, at := range s.answered {
		if now.Sub(at) > 64*sip.T1 {
			delete(s.answered, b)
		}
	}
	s.answered[branch] = now
}
