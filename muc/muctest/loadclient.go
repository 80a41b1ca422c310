package muctest

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// LoadClient is a lightweight XMPP client (mellium.im/xmpp) for load
// generation: a benchmark with hundreds of occupants cannot afford a
// python process each. It only counts what it receives.
type LoadClient struct {
	JID jid.JID
	// Groupchat counts received groupchat messages with a body;
	// SelfPresence counts presences carrying status 110.
	Groupchat, SelfPresence atomic.Int64

	sess *xmpp.Session
	conn net.Conn
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
	conn, err := d.DialContext(ctx, "tcp", p.C2SAddr)
	if err != nil {
		return nil, err
	}
	sess, err := xmpp.NewClientSession(ctx, j, conn,
		xmpp.StartTLS(&tls.Config{ServerName: p.Domain, InsecureSkipVerify: true}), // #nosec G402 -- test certificate
		xmpp.SASL("", password, sasl.Plain),
		xmpp.BindResource())
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("logging in %s: %w", j, err)
	}
	c := &LoadClient{JID: sess.LocalAddr(), sess: sess, conn: conn, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sess.Serve(xmpp.HandlerFunc(c.handle))
	}()
	return c, nil
}

func (c *LoadClient) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	groupchat := start.Name.Local == "message"
	if groupchat {
		groupchat = false
		for _, a := range start.Attr {
			if a.Name.Local == "type" && a.Value == "groupchat" {
				groupchat = true
			}
		}
	}
	body, self := false, false
	for {
		tok, err := t.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if s, ok := tok.(xml.StartElement); ok {
			switch s.Name.Local {
			case "body":
				body = true
			case "status":
				for _, a := range s.Attr {
					if a.Name.Local == "code" && a.Value == "110" {
						self = true
					}
				}
			}
		}
	}
	if groupchat && body {
		c.Groupchat.Add(1)
	}
	if start.Name.Local == "presence" && self {
		c.SelfPresence.Add(1)
	}
	return nil
}

// Send writes one raw stanza.
func (c *LoadClient) Send(ctx context.Context, raw string) error {
	return c.sess.Send(ctx, xml.NewDecoder(strings.NewReader(raw)))
}

// Close ends the session and the connection.
func (c *LoadClient) Close() {
	c.sess.Close()
	c.conn.Close()
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
