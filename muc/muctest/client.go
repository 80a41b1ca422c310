package muctest

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
)

//go:embed testdata/driver.py
var driverPy []byte

// Timeout is how long helpers wait for a peer: generous, since tests share
// two cores.
const Timeout = 20 * time.Second

// Client is a real slixmpp client (python3-slixmpp through /usr/bin/python3)
// logged in to a test Prosody, scripted from Go.
type Client struct {
	// JID is the bare JID the client logged in as; FullJID includes the
	// resource the server bound.
	JID, FullJID string

	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	recv   []Stanza
	res    map[int]result
	nextID int
	wake   chan struct{}
	state  string // "", "ready", "failed: …", "disconnected"
	done   chan struct{}
}

type result struct {
	ID        int      `json:"id"`
	OK        bool     `json:"ok"`
	Error     string   `json:"error"`
	XML       string   `json:"xml"`
	Subject   string   `json:"subject"`
	Occupants []string `json:"occupants"`
	History   []string `json:"history"`
}

// NewClient registers user (password = user) on p, logs in as
// user@p.Domain/resource and waits until the session starts. It is closed
// by t.Cleanup.
func NewClient(t testing.TB, p *Prosody, user, resource string) *Client {
	t.Helper()
	py := testpeer.NeedPythonModule(t, "slixmpp")
	if err := p.Register(user, user); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "driver.py")
	if err := os.WriteFile(script, driverPy, 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(p.C2SAddr)
	bare := user + "@" + p.Domain
	c := &Client{JID: bare, FullJID: bare + "/" + resource, t: t, res: map[int]result{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.cmd = exec.Command(py, script, c.FullJID, user, host, port)
	c.cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdin, err = c.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting slixmpp: %v", err)
	}
	go c.read(stdout)
	t.Cleanup(func() {
		c.Close()
		stderr.Close()
	})
	deadline := time.Now().Add(Timeout)
	for {
		c.mu.Lock()
		st := c.state
		c.mu.Unlock()
		if st == "ready" {
			return c
		}
		if st != "" || time.Now().After(deadline) {
			logData, _ := os.ReadFile(stderr.Name())
			t.Fatalf("slixmpp client %s did not start (state %q); stderr:\n%s\nprosody log:\n%s", c.FullJID, st, logData, p.Log())
		}
		c.waitWake(50 * time.Millisecond)
	}
}

func (c *Client) read(r io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m struct {
			Op    string `json:"op"`
			XML   string `json:"xml"`
			Error string `json:"error"`
			result
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue
		}
		c.mu.Lock()
		switch m.Op {
		case "ready":
			c.state = "ready"
		case "failed":
			c.state = "failed: " + m.Error
		case "disconnected":
			c.state = "disconnected"
		case "recv":
			if s, err := ParseStanza(m.XML); err == nil {
				c.recv = append(c.recv, s)
			}
		case "result":
			r := m.result
			r.XML, r.Error = m.XML, m.Error
			c.res[r.ID] = r
		}
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func (c *Client) waitWake(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.wake:
	case <-t.C:
	}
}

func (c *Client) command(cmd map[string]any) int {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.mu.Unlock()
	if _, ok := cmd["id"]; !ok {
		cmd["id"] = id
	}
	b, _ := json.Marshal(cmd)
	if _, err := c.stdin.Write(append(b, '\n')); err != nil {
		c.t.Fatalf("writing to slixmpp %s: %v", c.FullJID, err)
	}
	return id
}

func (c *Client) await(id int) result {
	c.t.Helper()
	deadline := time.Now().Add(Timeout + 5*time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		r, ok := c.res[id]
		c.mu.Unlock()
		if ok {
			return r
		}
		c.waitWake(50 * time.Millisecond)
	}
	c.t.Fatalf("slixmpp %s: no result for command %d", c.FullJID, id)
	return result{}
}

// Send writes one raw stanza (in the jabber:client stream namespace).
func (c *Client) Send(xml string) {
	c.command(map[string]any{"op": "send", "xml": xml})
}

// JoinResult is what slixmpp's join_muc_wait reported.
type JoinResult struct {
	OK bool
	// Error is the presence error condition when OK is false.
	Error string
	// Self is the self-presence (OK) or the error presence.
	Self      Stanza
	Subject   string
	Occupants []string
	History   []string
}

// JoinOptions are the optional parts of a join.
type JoinOptions struct {
	Password   string
	MaxStanzas *int
}

// Join enters room (a bare JID) as nick with slixmpp's own XEP-0045 code
// and waits for the outcome.
func (c *Client) Join(room, nick string, opt JoinOptions) JoinResult {
	c.t.Helper()
	cmd := map[string]any{"op": "join", "room": room, "nick": nick, "password": opt.Password}
	if opt.MaxStanzas != nil {
		cmd["maxstanzas"] = *opt.MaxStanzas
	}
	r := c.await(c.command(cmd))
	s, _ := ParseStanza(r.XML)
	return JoinResult{OK: r.OK, Error: r.Error, Self: s, Subject: r.Subject, Occupants: r.Occupants, History: r.History}
}

// Disco asks for disco#info of jid with slixmpp's XEP-0030 code and
// returns the result (or error) iq.
func (c *Client) Disco(jid string) (Stanza, error) {
	c.t.Helper()
	r := c.await(c.command(map[string]any{"op": "disco", "jid": jid}))
	s, _ := ParseStanza(r.XML)
	if !r.OK {
		return s, fmt.Errorf("disco#info %s: %s", jid, r.Error)
	}
	return s, nil
}

// PublishVCard stores vcard (a <vCard xmlns='vcard-temp'/> element) as the
// client's own vCard on its server (XEP-0054 section 3.2) and waits for the
// server's answer.
func (c *Client) PublishVCard(vcard string) error {
	c.t.Helper()
	r := c.await(c.command(map[string]any{"op": "vcard", "xml": vcard}))
	if !r.OK {
		return fmt.Errorf("publishing a vCard: %s (%s)", r.Error, r.XML)
	}
	return nil
}

// Mark returns a position in the received stanzas; WaitFor looks after it.
func (c *Client) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recv)
}

// WaitFor returns the first stanza received after mark that matches, or
// fails the test after Timeout.
func (c *Client) WaitFor(mark int, what string, match func(*Stanza) bool) Stanza {
	c.t.Helper()
	s, ok := c.Poll(mark, Timeout, match)
	if !ok {
		c.mu.Lock()
		var got []string
		for _, r := range c.recv[min(mark, len(c.recv)):] {
			got = append(got, r.Raw)
		}
		c.mu.Unlock()
		c.t.Fatalf("%s: no %s within %v; received after mark:\n%s", c.FullJID, what, Timeout, strings.Join(got, "\n"))
	}
	return s
}

// Poll is WaitFor without failing: ok is false when nothing matched in d.
func (c *Client) Poll(mark int, d time.Duration, match func(*Stanza) bool) (Stanza, bool) {
	deadline := time.Now().Add(d)
	for {
		c.mu.Lock()
		for i := mark; i < len(c.recv); i++ {
			if match(&c.recv[i]) {
				s := c.recv[i]
				c.mu.Unlock()
				return s, true
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			return Stanza{}, false
		}
		c.waitWake(50 * time.Millisecond)
	}
}

// IQ sends a raw iq (which must carry id) and waits for its reply.
func (c *Client) IQ(id, xml string) Stanza {
	c.t.Helper()
	mark := c.Mark()
	c.Send(xml)
	return c.WaitFor(mark, "reply to iq "+id, func(s *Stanza) bool {
		return s.Name() == "iq" && s.Attr("id") == id && (s.Attr("type") == "result" || s.Attr("type") == "error")
	})
}

// Count returns how many stanzas received after mark match.
func (c *Client) Count(mark int, match func(*Stanza) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i := mark; i < len(c.recv); i++ {
		if match(&c.recv[i]) {
			n++
		}
	}
	return n
}

// Connected reports whether the client's stream is still up.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == "ready"
}

// Close disconnects the client and waits for the process.
func (c *Client) Close() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	c.stdin.Close() // the driver quits at end of input
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
	}
	c.cmd.Wait()
	c.cmd = nil
}
