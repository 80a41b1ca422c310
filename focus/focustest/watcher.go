package focustest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	confinfo "cusax.dev/bridge/conference-info"
)

// Notify is one NOTIFY a Watcher received.
type Notify struct {
	State string // Subscription-State
	Body  []byte
	Doc   *confinfo.Info // decoded body, nil if it did not decode
}

// Watcher is a minimal RFC 4575 watcher speaking SIP as plain text over UDP:
// it SUBSCRIBEs to a room, answers every NOTIFY 200, and folds the partial
// documents into its own copy with confinfo.Apply, as a real client would.
type Watcher struct {
	t      testing.TB
	conn   *net.UDPConn
	focus  netip.AddrPort
	room   string
	callID string
	tag    string
	cseq   int
	parser *sip.Parser

	mu       sync.Mutex
	toTag    string
	notifies []Notify
	local    *confinfo.Info
	applyErr error
	refuse   int
	stall    bool
	stalled  int
	changed  chan struct{}
	subRes   chan *sip.Response
	done     chan struct{}
}

// NewWatcher opens a loopback UDP socket for a watcher of room at focus;
// call Subscribe to start. It is closed by t.Cleanup.
func NewWatcher(t testing.TB, focus netip.AddrPort, room string) *Watcher {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("watcher socket: %v", err)
	}
	w := &Watcher{t: t, conn: c, focus: focus, room: room, parser: sip.NewParser(),
		callID: fmt.Sprintf("w%x@127.0.0.1", rand.Uint64()), tag: fmt.Sprintf("%x", rand.Uint32()),
		changed: make(chan struct{}, 1), subRes: make(chan *sip.Response, 8), done: make(chan struct{})}
	go w.read()
	t.Cleanup(func() { c.Close(); <-w.done })
	return w
}

// Addr is the watcher's SIP address.
func (w *Watcher) Addr() netip.AddrPort { return w.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Subscribe sends SUBSCRIBE with the given Expires and returns the final
// status; the NOTIFYs arrive in the background.
func (w *Watcher) Subscribe(ctx context.Context, expires int) (int, error) {
	res, err := w.SubscribeResponse(ctx, expires)
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// SubscribeResponse is Subscribe returning the whole final response, for
// tests that look at its headers (Expires, Min-Expires).
func (w *Watcher) SubscribeResponse(ctx context.Context, expires int) (*sip.Response, error) {
	w.mu.Lock()
	w.cseq++
	to := fmt.Sprintf("<sip:%s@%s>", w.room, w.focus)
	if w.toTag != "" {
		to += ";tag=" + w.toTag
	}
	msg := fmt.Sprintf("SUBSCRIBE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%x;rport\r\nMax-Forwards: 70\r\nFrom: <sip:watcher@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d SUBSCRIBE\r\nContact: <sip:watcher@%s>\r\nEvent: conference\r\nAccept: application/conference-info+xml\r\nExpires: %d\r\nContent-Length: 0\r\n\r\n",
		w.room, w.focus, w.Addr(), rand.Uint64(), w.tag, to, w.callID, w.cseq, w.Addr(), expires)
	w.mu.Unlock()
	if _, err := w.conn.WriteToUDPAddrPort([]byte(msg), w.focus); err != nil {
		return nil, fmt.Errorf("sending SUBSCRIBE: %w", err)
	}
	for {
		select {
		case res := <-w.subRes:
			if res.IsProvisional() {
				continue
			}
			if res.IsSuccess() {
				w.mu.Lock()
				w.toTag, _ = res.To().Params.Get("tag")
				w.mu.Unlock()
			}
			return res, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the SUBSCRIBE answer: %w", ctx.Err())
		}
	}
}

func (w *Watcher) read() {
	defer close(w.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := w.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		msg, err := w.parser.ParseSIP(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		switch m := msg.(type) {
		case *sip.Response:
			if m.CSeq() != nil && m.CSeq().MethodName == sip.SUBSCRIBE {
				select {
				case w.subRes <- m:
				default:
				}
			}
		case *sip.Request:
			w.mu.Lock()
			refuse, stall := w.refuse, w.stall
			if stall && m.Method == sip.NOTIFY {
				w.stalled++
			}
			w.mu.Unlock()
			if stall && m.Method == sip.NOTIFY {
				continue // a watcher too busy to answer: the focus retransmits
			}
			res := sip.NewResponseFromRequest(m, 200, "OK", nil)
			if refuse != 0 {
				res = sip.NewResponseFromRequest(m, refuse, "Refused", nil)
				_, _ = w.conn.WriteToUDPAddrPort([]byte(res.String()), from)
				continue
			}
			if m.Method != sip.NOTIFY {
				res = sip.NewResponseFromRequest(m, 405, "Method Not Allowed", nil)
			}
			_, _ = w.conn.WriteToUDPAddrPort([]byte(res.String()), from)
			if m.Method == sip.NOTIFY {
				w.onNotify(m)
			}
		}
	}
}

func (w *Watcher) onNotify(req *sip.Request) {
	n := Notify{Body: req.Body()}
	if h := req.GetHeader("Subscription-State"); h != nil {
		n.State = h.Value()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.toTag == "" {
		// The NOTIFY may beat the 200 to the SUBSCRIBE (RFC 6665 4.1.2.4).
		w.toTag, _ = req.From().Params.Get("tag")
	}
	for _, prev := range w.notifies {
		// A retransmitted NOTIFY carries the same body; do not apply twice.
		if string(prev.Body) == string(n.Body) && prev.State == n.State && len(n.Body) > 0 {
			if doc, err := confinfo.Decode(n.Body); err == nil && w.local != nil && doc.Version <= w.local.Version {
				return
			}
		}
	}
	if len(n.Body) > 0 {
		doc, err := confinfo.Decode(n.Body)
		if err != nil {
			w.applyErr = fmt.Errorf("NOTIFY body does not decode: %w", err)
		} else {
			n.Doc = doc
			local, err := confinfo.Apply(w.local, doc)
			if err != nil {
				w.applyErr = fmt.Errorf("applying version %d: %w", doc.Version, err)
			} else {
				w.local = local
			}
		}
	}
	w.notifies = append(w.notifies, n)
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Notifies returns the NOTIFYs received so far, in order.
func (w *Watcher) Notifies() []Notify {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Notify(nil), w.notifies...)
}

// Local returns the watcher's copy of the conference state and the first
// error met applying documents.
func (w *Watcher) Local() (*confinfo.Info, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.local == nil {
		return nil, w.applyErr
	}
	return w.local.Clone(), w.applyErr
}

// WaitFor polls the watcher's copy until cond holds, failing the test
// after 20 s.
func (w *Watcher) WaitFor(what string, cond func(doc *confinfo.Info, notifies []Notify) bool) {
	w.t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		local, err := w.Local()
		if err != nil {
			w.t.Fatalf("watcher: %v", err)
		}
		if cond(local, w.Notifies()) {
			return
		}
		select {
		case <-w.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline.C:
			w.t.Fatalf("watcher: timed out waiting for %s; have %d NOTIFYs", what, len(w.Notifies()))
		}
	}
}

// Endpoint finds the endpoint of a leg by Call-ID in a document.
func Endpoint(doc *confinfo.Info, callID string) (confinfo.User, confinfo.Endpoint, bool) {
	if doc == nil || doc.Users == nil {
		return confinfo.User{}, confinfo.Endpoint{}, false
	}
	for _, u := range doc.Users.User {
		for _, e := range u.Endpoints {
			if e.CallInfo != nil && e.CallInfo.SIP != nil && e.CallInfo.SIP.CallID == callID {
				return u, e, true
			}
		}
	}
	return confinfo.User{}, confinfo.Endpoint{}, false
}

// ChatURI returns the grouptextchat service URI of a document, "" if none.
func ChatURI(doc *confinfo.Info) string {
	if doc == nil || doc.Description == nil || doc.Description.ServiceURIs == nil {
		return ""
	}
	for _, u := range doc.Description.ServiceURIs.Entries {
		if strings.EqualFold(u.Purpose, confinfo.PurposeGroupTextChat) {
			return u.URI
		}
	}
	return ""
}

// Refuse makes the watcher answer every later request with code (481 to
// play a watcher that forgot the subscription).
func (w *Watcher) Refuse(code int) {
	w.mu.Lock()
	w.refuse = code
	w.mu.Unlock()
}

// Stall makes the watcher ignore NOTIFYs (no answer, so the focus
// retransmits and cannot send the next one) until Stall(false): a watcher
// that falls behind.
func (w *Watcher) Stall(on bool) {
	w.mu.Lock()
	w.stall = on
	w.mu.Unlock()
}

// Stalled counts the NOTIFY transmissions ignored while stalled.
func (w *Watcher) Stalled() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stalled
}
