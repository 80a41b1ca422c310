package focus

import (
	"bytes"
	"net"
	"strings"
)

// badRequestConn sits under sipgo's UDP transport. sipgo drops a datagram
// it cannot parse without a word, so the sender retransmits for 32 s; RFC
// 3261 section 8.2 and 16.3 ask for a 400 instead. The wrapper parses each
// datagram once more (Focus.inspect), answers the unparseable requests that
// still carry enough headers to be answered, and hides them from sipgo.
type badRequestConn struct {
	net.PacketConn
	f *Focus
}

func (c *badRequestConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || n <= 4 {
			return n, addr, err
		}
		pass, answer, perr := c.f.inspect(p[:n])
		if answer != nil {
			c.f.log.Debug("malformed SIP request answered", "from", addr, "err", perr)
			_, _ = c.PacketConn.WriteTo(answer, addr)
		}
		if pass == nil || len(pass) > len(p) {
			continue
		}
		return copy(p, pass), addr, nil
	}
}

// WriteTo gives RFC 2543 requests their own branch back in the answers.
func (c *badRequestConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if n, err := c.PacketConn.WriteTo(c.f.rfc2543.restore(b), addr); err != nil {
		return n, err
	}
	return len(b), nil
}

// badRequest builds a stateless 400 for an unparseable request, copying the
// headers a UAC needs to match it (RFC 3261 section 8.2.6). It returns nil
// for responses, ACKs and requests without a Via, which cannot be answered.
func badRequest(data []byte, reason error) []byte {
	return answerStateless(data, "400 Bad Request", reason)
}

// statelessAnswer is badRequest's answer, but 416 when the Request-URI is
// well-formed up to a scheme the focus does not serve (RFC 3261 section
// 8.2.2.1, RFC 4475 3.3.3): the scheme is why the parser gave up.
func statelessAnswer(data []byte, reason error) []byte {
	first, _, _ := bytes.Cut(data, []byte("\r\n"))
	if parts := strings.Split(string(first), " "); len(parts) == 3 && unservedScheme(parts[1]) {
		return answerStateless(data, "416 Unsupported URI Scheme", reason)
	}
	return badRequest(data, reason)
}

func answerStateless(data []byte, status string, reason error) []byte {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	if len(lines) < 2 || strings.HasPrefix(lines[0], "SIP/") || !strings.Contains(lines[0], "SIP/2.0") || strings.HasPrefix(lines[0], "ACK ") {
		return nil
	}
	var out strings.Builder
	out.WriteString("SIP/2.0 " + status + "\r\n")
	sawVia := false
	for _, l := range lines[1:] {
		name, _, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v":
			sawVia = true
		case "from", "f", "to", "t", "call-id", "i", "cseq":
		default:
			continue
		}
		out.WriteString(l)
		out.WriteString("\r\n")
	}
	if !sawVia {
		return nil
	}
	w := strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, reason.Error())
	if len(w) > 200 {
		w = w[:200]
	}
	out.WriteString(`Warning: 399 focus "malformed request: ` + w + "\"\r\nContent-Length: 0\r\n\r\n")
	return []byte(out.String())
}

// unservedScheme reports whether uri starts with a well-formed scheme
// (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":") other than
// sip and sips.
func unservedScheme(uri string) bool {
	scheme, _, ok := strings.Cut(uri, ":")
	if !ok || scheme == "" || !isAlpha(scheme[0]) {
		return false
	}
	for i := 1; i < len(scheme); i++ {
		c := scheme[i]
		if !isAlpha(c) && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	s := strings.ToLower(scheme)
	return s != "sip" && s != "sips"
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
