package muc

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"
)

// linkState is the current component connection, if any.
type linkState struct {
	mu      sync.Mutex
	conn    net.Conn
	sess    *xmpp.Session
	writing bool
	stop    chan struct{} // closed by Shutdown
	once    sync.Once
	closed  sync.Once
}

// backoff returns the wait before reconnect attempt n (0-based): capped
// exponential growth from min to max with "equal jitter" (half fixed, half
// random), so a fleet of bridges restarted with their server do not all
// knock at once, yet none waits less than half the nominal delay.
func backoff(n int, min, max time.Duration, rnd func() float64) time.Duration {
	d := max
	if n < 62 {
		if v := min << n; v > 0 && v < max {
			d = v
		}
	}
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// Serve loads persistent rooms, then keeps the component link up until ctx
// ends or Shutdown is called, reconnecting with backoff whenever the link
// drops or the server restarts. It returns nil on a clean stop and an error
// only when the store cannot be read.
func (s *Service) Serve(ctx context.Context) error {
	if err := s.load(ctx); err != nil {
		return err
	}
	stop := s.stopChan()
	evCtx, cancelEv := context.WithCancel(context.Background())
	evDone := make(chan struct{})
	go func() { defer close(evDone); s.runEvents(evCtx) }()
	defer func() { cancelEv(); <-evDone }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.holdLink(ctx, s.keepLinkUp)
	return nil
}

// keepLinkUp keeps the component link up until ctx ends, reconnecting with
// capped exponential backoff and jitter whenever it drops.
func (s *Service) keepLinkUp(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		up, err := s.runLink(ctx)
		if ctx.Err() != nil {
			return
		}
		if up {
			attempt = 0
		}
		delay := backoff(attempt, s.cfg.ReconnectMin, s.cfg.ReconnectMax, rand.Float64)
		s.m.reconnects.Inc()
		s.log.Warn("component link down, reconnecting", "addr", s.cfg.ComponentAddr, "err", err, "attempt", attempt+1, "delay", delay)
		if !sleepCtx(ctx, delay) {
			return
		}
	}
}

func (s *Service) stopChan() chan struct{} {
	s.link.once.Do(func() { s.link.stop = make(chan struct{}) })
	return s.link.stop
}

// runLink dials, authenticates (XEP-0114 handshake) and serves one
// connection until it ends. up reports whether the handshake succeeded.
func (s *Service) runLink(ctx context.Context) (up bool, err error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.ComponentAddr)
	if err != nil {
		return false, fmt.Errorf("muc: dialing the component port %s: %w", s.cfg.ComponentAddr, err)
	}
	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	if s.cfg.ComponentTLS != nil {
		tc := tls.Client(conn, s.cfg.ComponentTLS)
		if err := tc.HandshakeContext(hctx); err != nil {
			hcancel()
			conn.Close()
			return false, fmt.Errorf("muc: TLS to the component port %s: %w", s.cfg.ComponentAddr, err)
		}
		conn = tc
	}
	stopDuringHandshake := context.AfterFunc(hctx, func() {
		if hctx.Err() != nil {
			conn.Close()
		}
	})
	sess, err := component.NewSession(hctx, jid.MustParse(s.domain), []byte(s.cfg.Secret), conn)
	stopDuringHandshake()
	hcancel()
	if err != nil {
		conn.Close()
		return false, fmt.Errorf("muc: component handshake with %s as %s: %w", s.cfg.ComponentAddr, s.domain, err)
	}
	s.takeOut() // anything queued while down was for a previous connection
	s.link.mu.Lock()
	s.link.conn, s.link.sess = conn, sess
	s.link.mu.Unlock()
	s.ready.Store(true)
	s.m.linkUp.Set(1)
	s.log.Info("component link up", "addr", s.cfg.ComponentAddr)

	wctx, wcancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() { defer close(wdone); s.writer(wctx, sess, conn) }()
	stopOnCancel := context.AfterFunc(ctx, func() { conn.Close() })

	err = sess.Serve(handler{s: s, ctx: ctx})

	stopOnCancel()
	s.ready.Store(false)
	s.m.linkUp.Set(0)
	wcancel()
	<-wdone
	conn.Close()
	s.link.mu.Lock()
	s.link.conn, s.link.sess = nil, nil
	s.link.mu.Unlock()
	s.linkLost()
	if err == nil {
		err = errors.New("muc: the server closed the component stream")
	}
	return true, err
}

// writer sends queued stanzas, in order for each recipient, until ctx ends
// or a write fails. It writes whatever is queued as one batch with one
// Write, which is what makes fan-out cheap (see writeBatch). It bypasses
// Session.Send, which arms a per-call deadline goroutine that can fire
// after the call returned and fail the next write.
func (s *Service) writer(ctx context.Context, sess *xmpp.Session, conn net.Conn) {
	var buf []byte
	for {
		s.setWriting(true)
		if items := s.takeOut(); len(items) > 0 {
			var err error
			if buf, err = writeBatch(sess, conn, items, buf[:0]); err != nil {
				s.log.Warn("writing to the component link", "err", err)
				conn.Close()
				s.setWriting(false)
				return
			}
			if cap(buf) > maxKeptBuffer {
				buf = nil // a burst's buffer is not kept for ever
			}
			s.countOut(items)
			select {
			case s.out.drained <- struct{}{}:
			default:
			}
		}
		s.setWriting(false)
		select {
		case <-ctx.Done():
			return
		case <-s.out.wake:
		}
	}
}

// countOut adds a batch to bridge_muc_stanzas_out_total, one Add per kind
// rather than a label lookup per stanza.
func (s *Service) countOut(items []*element) {
	var msg, pres, iq float64
	for _, e := range items {
		switch e.Name.Local {
		case "message":
			msg++
		case "presence":
			pres++
		case "iq":
			iq++
		default:
			s.m.stanzasOut.WithLabelValues(e.Name.Local).Inc()
		}
	}
	for _, k := range []struct {
		kind string
		n    float64
	}{{"message", msg}, {"presence", pres}, {"iq", iq}} {
		if k.n > 0 {
			s.m.stanzasOut.WithLabelValues(k.kind).Add(k.n)
		}
	}
}

// writeTimeout bounds one batch: a server that stops reading for this long
// is treated as gone, and the link is rebuilt.
const writeTimeout = 30 * time.Second

// maxKeptBuffer is the largest serialisation buffer the writer keeps
// between batches.
const maxKeptBuffer = 4 << 20

// writeBatch serialises items in their shortest form (wire.go) into buf and
// writes them with one Write, so the server reads a fan-out in few large
// segments. It holds the session's output lock meanwhile, which orders the
// bytes with anything mellium itself writes (the closing stream tag).
func writeBatch(sess *xmpp.Session, conn net.Conn, items []*element, buf []byte) ([]byte, error) {
	for _, e := range groupByRecipient(items) {
		buf = e.appendXML(buf)
	}
	w := sess.TokenWriter()
	defer w.Close()
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	defer conn.SetWriteDeadline(time.Time{})
	_, err := conn.Write(buf)
	return buf, err
}

// groupByRecipient reorders a batch so that stanzas to the same address are
// adjacent, keeping their order, and recipients in order of first
// appearance. XMPP orders stanzas only between one sender and one recipient
// (RFC 6120 10.1), so nothing any client sees changes; but the server then
// finds several stanzas for one client in each read from the link and
// writes them to that client in one go (one TLS record, one syscall)
// instead of one each. That is how its own MUC behaves when it broadcasts
// several messages in one tick. A multicast stanza (multicast.go) stands
// for many recipients, so nothing is moved across it.
func groupByRecipient(items []*element) []*element {
	if len(items) < 3 {
		return items
	}
	first := make(map[string]int, 64) // recipient → index of its group
	var groups [][]*element
	out := make([]*element, 0, len(items))
	flush := func() {
		for _, g := range groups {
			out = append(out, g...)
		}
		groups = groups[:0]
		clear(first)
	}
	for _, e := range items {
		if isMulticast(e) {
			// It stands for many recipients: nothing may pass it.
			flush()
			out = append(out, e)
			continue
		}
		to := e.attr("to")
		i, ok := first[to]
		if !ok {
			i = len(groups)
			first[to] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], e)
	}
	if len(out) == 0 && len(groups) == len(items) {
		return items // nothing to group, nothing moved
	}
	flush()
	return out
}

func (s *Service) setWriting(b bool) {
	s.link.mu.Lock()
	s.link.writing = b
	s.link.mu.Unlock()
}

// linkLost forgets chat occupants when the link drops: the room can no
// longer reach them, and their clients will notice through XEP-0410
// self-ping (answered not-acceptable) and rejoin. Phone legs stay.
func (s *Service) linkLost() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rooms {
		for _, o := range r.occupantsSorted() {
			if o.audioOnly() {
				continue
			}
			r.dropOccupant(o.key)
			delete(r.byJID, o.jid.String())
			s.emit(Event{Kind: EventLeft, Room: r.name, Nick: o.nick, JID: o.bare, Role: RoleNone, Affiliation: r.affiliation(o.bare), Status: []int{333}, Reason: "component link lost"})
		}
		s.dropIfEmpty(r)
	}
	s.updateGauges()
	s.mcast.reset()
	s.takeOut()
}

// Shutdown tells every chat occupant the room is going away (unavailable
// presence with status 332, XEP-0045 section 7.2.7), waits until that is
// written or ctx ends, then closes the link and makes Serve return.
func (s *Service) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	s.mu.Lock()
	for _, r := range s.rooms {
		for _, o := range r.occupantsSorted() {
			if o.audioOnly() {
				continue
			}
			s.send(s.presenceOf(r, o, o, presenceItem{unavailable: true, codes: []int{332}, reason: "the service is shutting down"}))
		}
	}
	s.mu.Unlock()
	var err error
	for {
		s.out.mu.Lock()
		pending := len(s.out.items)
		s.out.mu.Unlock()
		s.link.mu.Lock()
		busy, sess := s.link.writing, s.link.sess
		s.link.mu.Unlock()
		if sess == nil || (pending == 0 && !busy) {
			break
		}
		select {
		case <-ctx.Done():
			err = fmt.Errorf("muc: shutdown interrupted before the 332 presences were written: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	s.link.mu.Lock()
	sess, conn := s.link.sess, s.link.conn
	s.link.mu.Unlock()
	if sess != nil {
		// End the stream politely, but never hang on a server that stopped
		// reading: the deadline bounds the closing tag's write.
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		sess.Close()
	}
	s.link.closed.Do(func() { close(s.stopChan()) })
	return err
}

// handler adapts the service to mellium's xmpp.Handler.
type handler struct {
	s   *Service
	ctx context.Context
}

// HandleXMPP reads one top-level element and applies it. An element too
// large or too deep is dropped (the session skips the rest of it); only a
// broken stream ends the link.
func (h handler) HandleXMPP(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	arrived := h.s.now()
	el, err := readElement(*start, t)
	if errors.Is(err, errTooLarge) || errors.Is(err, errMalformed) {
		h.s.log.Warn("dropping a stanza", "element", start.Name.Local, "err", err)
		h.s.m.errors.WithLabelValues("policy-violation").Inc()
		return nil
	}
	if err != nil {
		return err
	}
	h.s.waitDrained(h.ctx)
	h.s.handleArrived(el, arrived)
	return nil
}
