package focus

import (
	"bytes"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// badRequestConn sits under sipgo's UDP transport. sipgo drops a datagram
// it cannot parse without a word, so the sender retransmits for 32 s; RFC
// 3261 section 8.2 and 16.3 ask for a 400 instead. The wrapper parses each
// datagram once more, answers the unparseable requests that still carry
// enough headers to be answered, and hides them from sipgo.
type badRequestConn struct {
	net.PacketConn
	f      *Focus
	parser *sip.Parser
}

func (c *badRequestConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.parser == nil {
		c.parser = sip.NewParser()
	}
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || n <= 4 {
			return n, addr, err
		}
		data := p[:n]
		if _, perr := c.parser.ParseSIP(data); perr == nil {
			return n, addr, nil
		} else if res := badRequest(data, perr); res != nil {
			c.f.metrics.malformed.Inc()
			c.f.log.Debug("malformed SIP request answered 400", "from", addr, "err", perr)
			_, _ = c.PacketConn.WriteTo(res, addr)
		}
	}
}

// badRequest builds a stateless 400 for an unparseable request, copying the
// headers a UAC needs to match it (RFC 3261 section 8.2.6). It returns nil
// for responses and for requests without a Via, which cannot be answered.
func badRequest(data []byte, reason error) []byte {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	if len(lines) < 2 || strings.HasPrefix(lines[0], "SIP/") || !strings.Contains(lines[0], "SIP/2.0") {
		return nil
	}
	var out strings.Builder
	out.WriteString("SIP/2.0 400 Bad Request\r\n")
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
