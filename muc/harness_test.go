package muc

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// harness drives the service stanza by stanza without a link: what the
// service would write is taken from its outgoing queue.
type harness struct {
	t *testing.T
	s *Service
}

const (
	testDomain = "conference.example.test"
	testRoom   = "standup@conference.example.test"
)

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	cfg := Config{Domain: testDomain, Secret: "s", SIPDomain: "sip.example.test", Registerer: prometheus.NewRegistry()}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, s: s}
}

// in feeds one stanza and returns what the service sent in reply.
func (h *harness) in(x string) []*element {
	h.t.Helper()
	el, err := parseElement([]byte(x))
	if err != nil {
		h.t.Fatalf("bad test stanza %s: %v", x, err)
	}
	h.s.handle(el)
	return h.s.takeOut()
}

// join enters room as nick from full JID and returns the service's output.
func (h *harness) join(from, nick string, extra ...string) []*element {
	h.t.Helper()
	return h.in(`<presence from='` + from + `' to='` + testRoom + `/` + nick + `'><x xmlns='http://jabber.org/protocol/muc'>` + strings.Join(extra, "") + `</x></presence>`)
}

func (h *harness) events() []Event { return h.s.events.take() }

// to returns the stanzas addressed to jid.
func to(out []*element, jid string) []*element {
	var r []*element
	for _, e := range out {
		if e.attr("to") == jid {
			r = append(r, e)
		}
	}
	return r
}

func codes(e *element) []string {
	x := e.child(NSMUCUser, "x")
	if x == nil {
		return nil
	}
	var c []string
	for _, s := range x.children() {
		if s.Name.Local == "status" {
			c = append(c, s.attr("code"))
		}
	}
	return c
}

func hasStatus(e *element, code string) bool {
	for _, c := range codes(e) {
		if c == code {
			return true
		}
	}
	return false
}

// errCond returns the defined condition of an error stanza, or "".
func errCond(e *element) string {
	if e == nil || e.attr("type") != "error" {
		return ""
	}
	er := e.child("", "error")
	if er == nil {
		return ""
	}
	for _, c := range er.children() {
		if c.Name.Space == nsStanzas && c.Name.Local != "text" {
			return c.Name.Local
		}
	}
	return ""
}

func item(e *element) *element {
	if x := e.child(NSMUCUser, "x"); x != nil {
		return x.child("", "item")
	}
	return nil
}
