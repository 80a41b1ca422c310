package muc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type vcardOutcome struct {
	data []byte
	err  error
}

// startVCard begins a fetch of bare's vCard and returns the request the
// service wrote and where the outcome will arrive.
func startVCard(t *testing.T, h *harness, ctx context.Context, bare string) (*element, chan vcardOutcome) {
	t.Helper()
	done := make(chan vcardOutcome, 1)
	go func() {
		b, err := h.s.VCard(ctx, bare)
		done <- vcardOutcome{b, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range h.s.takeOut() {
			if e.Name.Local == "iq" && e.child(nsVCard, "vCard") != nil {
				return e, done
			}
		}
		select {
		case o := <-done:
			t.Fatalf("VCard returned before sending a request: %q, %v", o.data, o.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no vCard request was sent")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func outcome(t *testing.T, done chan vcardOutcome) vcardOutcome {
	t.Helper()
	select {
	case o := <-done:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("VCard did not return")
		return vcardOutcome{}
	}
}

func upHarness(t *testing.T) *harness {
	h := newHarness(t, nil)
	h.s.ready.Store(true)
	return h
}

func TestVCardFetch(t *testing.T) {
	const alice = "alice@example.test"
	for _, tc := range []struct {
		name    string
		replies []string // %ID% is the request's id; fed in order
		want    string   // substring of the returned XML, or of the error
		noVCard bool     // errors.Is(err, ErrNoVCard)
		leak    bool     // the last reply is not ours: the output must be empty
	}{
		{name: "result", replies: []string{`<iq type='result' from='alice@example.test' to='conference.example.test' id='%ID%'><vCard xmlns='vcard-temp'><URL>sip:alice@127.0.0.1</URL></vCard></iq>`},
			want: `<vCard xmlns="vcard-temp"><URL>sip:alice@127.0.0.1</URL></vCard>`},
		{name: "wrong from is ignored", replies: []string{
			`<iq type='result' from='mallory@example.test' to='conference.example.test' id='%ID%'><vCard xmlns='vcard-temp'><URL>sip:mallory@127.0.0.1</URL></vCard></iq>`,
			`<iq type='result' from='alice@example.test/laptop' to='conference.example.test' id='%ID%'><vCard xmlns='vcard-temp'><URL>sip:mallory@127.0.0.1</URL></vCard></iq>`,
			`<iq type='result' from='Alice@Example.test' to='conference.example.test' id='%ID%'><vCard xmlns='vcard-temp'><URL>sip:alice@127.0.0.1</URL></vCard></iq>`},
			want: "sip:alice@127.0.0.1"},
		{name: "item-not-found", replies: []string{`<iq type='error' from='alice@example.test' id='%ID%'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
			want: "no vCard", noVCard: true},
		{name: "other error", replies: []string{`<iq type='error' from='alice@example.test' id='%ID%'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>nope</text></error></iq>`},
			want: `"service-unavailable" "nope"`},
		{name: "error without condition", replies: []string{`<iq type='error' from='alice@example.test' id='%ID%'/>`}, want: `error ""`},
		{name: "empty result", replies: []string{`<iq type='result' from='alice@example.test' id='%ID%'/>`}, want: "expected a <vCard", noVCard: true},
		{name: "wrong namespace", replies: []string{`<iq type='result' from='alice@example.test' id='%ID%'><vCard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><url><uri>sip:alice@127.0.0.1</uri></url></vCard></iq>`},
			want: "expected a <vCard", noVCard: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := upHarness(t)
			req, done := startVCard(t, h, context.Background(), alice)
			if req.attr("type") != "get" || req.attr("to") != alice || req.attr("from") != testDomain || req.attr("id") == "" {
				t.Fatalf("request: %s", req)
			}
			for i, r := range tc.replies {
				out := h.in(strings.ReplaceAll(r, "%ID%", req.attr("id")))
				if len(out) != 0 {
					t.Errorf("reply %d made the service send %v", i, out)
				}
			}
			o := outcome(t, done)
			got := string(o.data)
			if o.err != nil {
				got = o.err.Error()
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("got %q (err %v), want it to contain %q", o.data, o.err, tc.want)
			}
			if errors.Is(o.err, ErrNoVCard) != tc.noVCard {
				t.Errorf("errors.Is(%v, ErrNoVCard) = %v, want %v", o.err, !tc.noVCard, tc.noVCard)
			}
			h.s.mu.Lock()
			n := len(h.s.vcards)
			h.s.mu.Unlock()
			if n != 0 {
				t.Errorf("%d fetches still pending", n)
			}
		})
	}
}

// A late reply, after the fetch gave up, is an ordinary iq result to the
// service: ignored, never answered.
func TestVCardTimeoutAndLateReply(t *testing.T) {
	h := upHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, done := startVCard(t, h, ctx, "alice@example.test")
	o := outcome(t, done)
	if !errors.Is(o.err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", o.err)
	}
	if out := h.in(`<iq type='result' from='alice@example.test' to='conference.example.test' id='` + req.attr("id") + `'><vCard xmlns='vcard-temp'/></iq>`); len(out) != 0 {
		t.Errorf("a late reply made the service send %v", out)
	}
}

func TestVCardLinkDown(t *testing.T) {
	h := newHarness(t, nil)
	if _, err := h.s.VCard(context.Background(), "alice@example.test"); err == nil || !strings.Contains(err.Error(), "link is down") {
		t.Fatalf("with the link down: %v", err)
	}
	h.s.ready.Store(true)
	_, done := startVCard(t, h, context.Background(), "alice@example.test")
	h.s.ready.Store(false)
	if o := outcome(t, done); o.err == nil || !strings.Contains(o.err.Error(), "went down") {
		t.Fatalf("link lost while waiting: %v", o.err)
	}
}

func TestVCardBadJID(t *testing.T) {
	h := upHarness(t)
	for _, j := range []string{"", "example.test", "alice@example.test/laptop", "a@b@c", "@example.test"} {
		if _, err := h.s.VCard(context.Background(), j); err == nil {
			t.Errorf("VCard(%q) did not fail", j)
		}
	}
	if out := h.s.takeOut(); len(out) != 0 {
		t.Errorf("bad JIDs made the service send %v", out)
	}
}

// FuzzVCardReply answers a pending fetch with whatever a server might send:
// the service must never panic, never answer a reply, and return either
// well-formed vCard XML or an error.
func FuzzVCardReply(f *testing.F) {
	f.Add("alice@example.test", "result", `<vCard xmlns='vcard-temp'><URL>sip:alice@127.0.0.1</URL></vCard>`)
	f.Add("alice@example.test", "error", `<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`)
	f.Add("mallory@example.test", "result", `<vCard xmlns='vcard-temp'/>`)
	f.Add("alice@example.test", "result", `<vCard xmlns='vcard-temp'><vCard xmlns='vcard-temp'/><![CDATA[x]]></vCard><vCard/>`)
	f.Add("", "set", "")
	f.Fuzz(func(t *testing.T, from, typ, payload string) {
		h := newHarness(t, nil)
		h.s.ready.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req, done := startVCard(t, h, ctx, "alice@example.test")
		x := `<iq from='` + escapeAttr(from) + `' type='` + escapeAttr(typ) + `' id='` + req.attr("id") + `'>` + payload + `</iq>`
		if el, err := parseElement([]byte(x)); err == nil {
			h.s.handle(el)
		}
		o := outcome(t, done)
		if o.err == nil {
			if _, err := parseElement(o.data); err != nil {
				t.Fatalf("returned XML %q does not parse: %v", o.data, err)
			}
		}
	})
}

func escapeAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", "'", "&apos;").Replace(s)
}
