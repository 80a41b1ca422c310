package muctest

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// LoadClient is a lightweight XMPP client for load generation: a benchmark
// with hundreds of occupants cannot afford a python process each. It logs
// in with mellium.im/xmpp, then reads the stream itself without an XML
// decoder: it only finds where each stanza ends and counts. The clients
// share the machine with the server they measure, and decoding every copy
// of every message cost them a third of what the server spent delivering
// it (see countStanzas for what it relies on).
type LoadClient struct {
	JID jid.JID
	// Groupchat counts received groupchat messages with a body;
	// SelfPresence counts presences carrying status 110.
	Groupchat, SelfPresence atomic.Int64

	conn net.Conn // the negotiated (TLS) connection
	tcp  net.Conn
	wmu  sync.Mutex
	done chan struct{}
}

// DialLoadClient logs user@p.Domain in over STARTTLS (the test certificate
// is not verified) with SASL PLAIN, binds a resource and starts counting.
func DialLoadClient(ctx context.Context, p *Prosody, user, password string) (*LoadClient, error) {
	j, err := jid.Parse(user + "@" + p.Domain)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", p.C2SAddr)
	if err != nil {
		return nil, err
	}
	sess, err := xmpp.NewClientSession(ctx, j, tcp,
		xmpp.StartTLS(&tls.Config{ServerName: p.Domain, InsecureSkipVerify: true}), // #nosec G402 -- test certificate
		xmpp.SASL("", password, sasl.Plain),
		xmpp.BindResource())
	if err != nil {
		tcp.Close()
		return nil, fmt.Errorf("logging in %s: %w", j, err)
	}
	// The server sends nothing after the bind result until this client
	// sends something, so the session's decoder has nothing buffered.
	c := &LoadClient{JID: sess.LocalAddr(), conn: sess.Conn(), tcp: tcp, done: make(chan struct{})}
	go c.read()
	return c, nil
}

// read counts stanzas until the connection ends.
func (c *LoadClient) read() {
	defer close(c.done)
	buf := make([]byte, 0, 64<<10)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // a stanza longer than the buffer: grow it
		}
		n, err := c.conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		used := countStanzas(buf, &c.Groupchat, &c.SelfPresence)
		buf = buf[:copy(buf, buf[used:])]
		if err != nil {
			return
		}
	}
}

// countStanzas counts the complete stanzas at the start of b and returns
// how many bytes they took; the rest is an incomplete stanza. It relies on
// what Prosody writes: attribute values with '>' escaped (so the first '>'
// ends the top tag), and no stanza nested in a stanza of the same name
// (no carbons or archives in the benchmark), so the first closing tag of
// the name ends it. Anything else at the top level is skipped up to its
// first '>'.
func countStanzas(b []byte, groupchat, selfPresence *atomic.Int64) int {
	used := 0
	for {
		i := bytes.IndexByte(b[used:], '<')
		if i < 0 {
			return len(b)
		}
		start := used + i
		rest := b[start:]
		tagEnd := bytes.IndexByte(rest, '>')
		if tagEnd < 0 {
			return start
		}
		var name string
		for _, n := range []string{"message", "presence", "iq"} {
			if len(rest) > len(n)+1 && string(rest[1:1+len(n)]) == n && (rest[1+len(n)] == ' ' || rest[1+len(n)] == '>' || rest[1+len(n)] == '/') {
				name = n
			}
		}
		if name == "" {
			used = start + tagEnd + 1
			continue
		}
		end := tagEnd + 1
		if rest[tagEnd-1] != '/' {
			closing := bytes.Index(rest, []byte("</"+name+">"))
			if closing < 0 {
				return start
			}
			end = closing + len(name) + 3
		}
		stanza, top := rest[:end], rest[:tagEnd]
		switch name {
		case "message":
			if (bytes.Contains(top, []byte("type='groupchat'")) || bytes.Contains(top, []byte(`type="groupchat"`))) && bytes.Contains(stanza, []byte("<body")) {
				groupchat.Add(1)
			}
		case "presence":
			if bytes.Contains(stanza, []byte("code='110'")) || bytes.Contains(stanza, []byte(`code="110"`)) {
				selfPresence.Add(1)
			}
		}
		used = start + end
	}
}

// Send writes one raw stanza.
func (c *LoadClient) Send(ctx context.Context, raw string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		c.conn.SetWriteDeadline(d)
	}
	_, err := io.WriteString(c.conn, raw)
	return err
}

// Close ends the stream and the connection.
func (c *LoadClient) Close() {
	c.wmu.Lock()
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(c.conn, "</stream:stream>")
	c.wmu.Unlock()
	c.conn.Close()
	c.tcp.Close()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
}

// RegisterMany creates users that all share password, quickly: the first
// goes through prosodyctl, the rest copy its account file (Prosody's
// internal_plain storage), since hundreds of prosodyctl runs take minutes.
func (p *Prosody) RegisterMany(users []string, password string) error {
	if len(users) == 0 {
		return nil
	}
	if err := p.Register(users[0], password); err != nil {
		return err
	}
	dir := filepath.Join(p.dir, "data", strings.ReplaceAll(strings.ReplaceAll(p.Domain, ".", "%2e"), "-", "%2d"), "accounts")
	tmpl, err := os.ReadFile(filepath.Join(dir, users[0]+".dat"))
	if err != nil {
		return fmt.Errorf("reading the account file prosodyctl wrote: %w", err)
	}
	for _, u := range users[1:] {
		if err := os.WriteFile(filepath.Join(dir, u+".dat"), tmpl, 0o600); err != nil {
			return err
		}
	}
	return nil
}
