package focus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	confinfo "cusax.dev/bridge/conference-info"
)

// Subscription lifetimes (RFC 6665 section 4.2.1.1): the defaults of
// Config.SubscribeExpires and Config.SubscribeMinExpires.
const (
	defaultSubExpires = time.Hour
	minSubExpires     = 60 * time.Second
	// maxQueuedNotifies is how far behind a watcher may fall before it is
	// sent the full document instead of the partials it missed.
	maxQueuedNotifies = 64
)

// subscription is one watcher of a room's conference-info (RFC 4575): a
// dialog of its own, or a usage of a call's dialog (RFC 6665 4.5.2).
type subscription struct {
	f       *Focus
	room    string
	key     string
	dlg     *dialog
	inCall  bool
	eventID string

	mu       sync.Mutex
	expires  time.Time
	queue    []*confinfo.Info // documents to send, in version order
	sending  bool
	ended    bool
	finalMsg string // Subscription-State of the last NOTIFY once terminating
	timer    *time.Timer
	info     *roomInfo
	needFull bool
	// finalQueued: the last document (with finalMsg) is in the queue.
	finalQueued bool
	done        chan struct{}
	doneOnce    sync.Once
}

// onSubscribe handles SUBSCRIBE to the conference event package: new,
// refresh and unsubscribe (Expires: 0).
func (f *Focus) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	ev := req.GetHeader("Event")
	if ev == nil {
		ev = req.GetHeader("o")
	}
	pkg, evParams := "", ""
	if ev != nil {
		pkg, evParams, _ = strings.Cut(ev.Value(), ";")
		pkg = strings.ToLower(strings.TrimSpace(pkg))
	}
	if pkg != confinfo.EventPackage {
		f.reply(req, tx, 489, "Bad Event", sip.NewHeader("Allow-Events", "conference"))
		return
	}
	eventID := ""
	for _, p := range strings.Split(evParams, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "id") {
			eventID = v
		}
	}
	for _, h := range req.GetHeaders("Accept") {
		if !acceptsConfInfo(h.Value()) {
			f.reply(req, tx, sip.StatusNotAcceptable, "Not Acceptable", sip.NewHeader("Accept", confinfo.ContentType))
			return
		}
	}
	expires := f.cfg.SubscribeExpires
	if h := req.GetHeader("Expires"); h != nil {
		var tooBrief bool
		var err error
		expires, tooBrief, err = grantExpires(h.Value(), f.cfg.SubscribeExpires, f.cfg.SubscribeMinExpires)
		if err != nil {
			f.reply(req, tx, sip.StatusBadRequest, "Bad Request: "+err.Error())
			return
		}
		if tooBrief {
			f.reply(req, tx, sip.StatusIntervalToBrief, "Interval Too Brief",
				sip.NewHeader("Min-Expires", strconv.Itoa(int(math.Ceil(f.cfg.SubscribeMinExpires.Seconds())))))
			return
		}
	}

	if toTag(req) != "" {
		key := keyOf(req) + "\x00" + eventID
		f.mu.Lock()
		s := f.subs[key]
		f.mu.Unlock()
		if s != nil {
			if !s.dlg.acceptRemoteSeq(req.CSeq().SeqNo) {
				f.reply(req, tx, sip.StatusInternalServerError, "CSeq Out Of Order")
				return
			}
			f.refreshSubscription(s, req, tx, expires)
			return
		}
		l := f.legByKey(keyOf(req))
		if l == nil {
			f.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist")
			return
		}
		if !l.dlg.acceptRemoteSeq(req.CSeq().SeqNo) {
			f.reply(req, tx, sip.StatusInternalServerError, "CSeq Out Of Order")
			return
		}
		s = &subscription{f: f, room: l.room, key: key, dlg: l.dlg, inCall: true, eventID: eventID, done: make(chan struct{})}
		f.startSubscription(s, req, tx, expires)
		return
	}

	name, _, ok := parseRoom(req.Recipient)
	if !ok || (f.cfg.RequireExistingRooms && !f.roomExists(name)) {
		f.reply(req, tx, sip.StatusNotFound, "No Such Conference")
		return
	}
	if req.Contact() == nil {
		f.reply(req, tx, sip.StatusBadRequest, "Bad Request: SUBSCRIBE without Contact")
		return
	}
	d := uasDialog(req, newTag())
	s := &subscription{f: f, room: name, key: d.key() + "\x00" + eventID, dlg: d, eventID: eventID, done: make(chan struct{})}
	f.startSubscription(s, req, tx, expires)
}

// grantExpires reads a SUBSCRIBE's Expires value (delta-seconds): the
// lifetime granted, capped to longest, or tooBrief when it asks less than
// shortest but not 0 (RFC 6665 4.2.1.1: 423). 0 is an unsubscribe or fetch.
func grantExpires(value string, longest, shortest time.Duration) (granted time.Duration, tooBrief bool, err error) {
	v := strings.TrimSpace(value)
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, false, fmt.Errorf("expected Expires in delta-seconds, got %q", value)
	}
	// Compared in seconds first: a huge Expires would overflow a Duration.
	v = strings.TrimLeft(v, "0")
	if len(v) > 9 {
		return longest, false, nil
	}
	secs, _ := strconv.Atoi("0" + v)
	granted = longest
	if secs < int(longest/time.Second) {
		granted = time.Duration(secs) * time.Second
	}
	return granted, granted > 0 && granted < shortest, nil
}

func acceptsConfInfo(v string) bool {
	for _, t := range splitList(v) {
		t = strings.ToLower(strings.TrimSpace(strings.Split(t, ";")[0]))
		if t == confinfo.ContentType || t == "application/*" || t == "*/*" {
			return true
		}
	}
	return false
}

// startSubscription answers a new SUBSCRIBE and sends the full document.
func (f *Focus) startSubscription(s *subscription, req *sip.Request, tx sip.ServerTransaction, expires time.Duration) {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		f.reply(req, tx, sip.StatusServiceUnavailable, "Shutting Down", f.retryAfter(0))
		return
	}
	r := f.getRoomLocked(s.room)
	f.mu.Unlock()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if !s.inCall {
		res.To().Params.Add("tag", s.dlg.localTag)
	}
	res.AppendHeader(f.contact(s.room, req.Transport()))
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires.Seconds()))))
	f.respond(tx, res)

	if expires == 0 {
		// RFC 6665 4.2.1.4: a fetch gets one NOTIFY with the state, terminated.
		full := r.info.snapshot(f.roomLegs(s.room))
		s.mu.Lock()
		s.ended = true
		s.finalMsg = "terminated;reason=timeout"
		s.queue = append(s.queue, full)
		s.finalQueued = true
		s.mu.Unlock()
		s.kick()
		return
	}
	f.mu.Lock()
	if r := f.rooms[s.room]; r != nil {
		r.subs[s.key] = s
	}
	f.subs[s.key] = s
	f.metrics.subscriptions.Inc()
	f.mu.Unlock()
	s.mu.Lock()
	s.info = r.info
	s.expires = time.Now().Add(expires)
	s.timer = time.AfterFunc(expires, func() { s.terminate(context.Background(), "timeout") })
	s.mu.Unlock()
	r.info.watch(s, f.roomLegs(s.room))
}

// refreshSubscription handles a SUBSCRIBE in an existing subscription:
// a refresh re-sends the full state (RFC 6665 4.2.1.2), Expires: 0 ends it.
func (f *Focus) refreshSubscription(s *subscription, req *sip.Request, tx sip.ServerTransaction, expires time.Duration) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(f.contact(s.room, req.Transport()))
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires.Seconds()))))
	f.respond(tx, res)
	if expires == 0 {
		s.terminate(context.Background(), "timeout")
		return
	}
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Reset(expires)
	}
	s.expires = time.Now().Add(expires)
	s.mu.Unlock()
	s.info.requeue(s)
}

// enqueue adds a document to send; kick starts the sender if idle.
func (s *subscription) enqueue(doc *confinfo.Info) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= maxQueuedNotifies {
		// A watcher that cannot keep up gets the full state again instead
		// of an ever-growing queue of partials (see sendLoop).
		s.queue = s.queue[:0]
		s.needFull = true
	} else {
		s.queue = append(s.queue, doc)
	}
	s.mu.Unlock()
	s.kick()
}

func (s *subscription) kick() {
	s.mu.Lock()
	if s.sending || (len(s.queue) == 0 && !s.needFull) {
		s.mu.Unlock()
		return
	}
	s.sending = true
	s.mu.Unlock()
	if !s.f.spawn(s.sendLoop) {
		s.mu.Lock()
		s.sending = false
		s.mu.Unlock()
	}
}

// sendLoop sends queued documents one NOTIFY at a time, so that versions
// arrive in order, and exits when the queue is empty.
func (s *subscription) sendLoop() {
	for {
		s.mu.Lock()
		if s.needFull && s.info != nil {
			s.needFull = false
			s.mu.Unlock()
			full := s.info.resync(s)
			s.mu.Lock()
			if full != nil {
				// Drop what the full document already covers.
				q := []*confinfo.Info{full}
				for _, d := range s.queue {
					if d.Version > full.Version {
						q = append(q, d)
					}
				}
				s.queue = q
			}
		}
		if len(s.queue) == 0 {
			s.sending = false
			s.mu.Unlock()
			return
		}
		doc := s.queue[0]
		s.queue = s.queue[1:]
		last := len(s.queue) == 0 && s.finalQueued
		state := "active;expires=" + strconv.Itoa(max(0, int(time.Until(s.expires).Seconds())))
		if last {
			state = s.finalMsg
		}
		s.mu.Unlock()
		err := s.notify(context.Background(), doc, state)
		if err != nil {
			s.f.log.Info("conference NOTIFY failed, subscription ended", "room", s.room, "err", err)
			s.f.metrics.notifies.WithLabelValues("failed").Inc()
			s.drop()
			s.mu.Lock()
			s.queue = nil
			s.sending = false
			s.mu.Unlock()
			return
		}
		s.f.metrics.notifies.WithLabelValues("ok").Inc()
		if last {
			s.drop()
		}
	}
}

// errSubscriptionGone is a NOTIFY answered 481: the watcher forgot us.
var errSubscriptionGone = errors.New("watcher answered 481")

func (s *subscription) notify(ctx context.Context, doc *confinfo.Info, state string) error {
	body, err := confinfo.Encode(doc)
	if err != nil {
		return fmt.Errorf("encoding conference-info: %w", err)
	}
	req := s.dlg.request(sip.NOTIFY)
	ev := confinfo.EventPackage
	if s.eventID != "" {
		ev += ";id=" + s.eventID
	}
	req.AppendHeader(sip.NewHeader("Event", ev))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(s.f.contact(s.room, req.Transport()))
	req.AppendHeader(sip.NewHeader("Content-Type", confinfo.ContentType))
	req.SetBody(body)
	res, err := s.f.do(ctx, req)
	if err != nil {
		return err
	}
	switch {
	case res.IsSuccess():
		return nil
	case res.StatusCode == sip.StatusCallTransactionDoesNotExists:
		return errSubscriptionGone
	case res.StatusCode == sip.StatusRequestTimeout:
		return fmt.Errorf("NOTIFY timed out (408)")
	}
	// Other errors leave the subscription alone (RFC 6665 4.1.2.2 only ends
	// it on 481 and timeouts).
	return nil
}

// terminate ends the subscription with a final NOTIFY carrying reason.
func (s *subscription) terminate(ctx context.Context, reason string) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.finalMsg = "terminated;reason=" + reason
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	var full *confinfo.Info
	if s.info != nil {
		full = s.info.resync(s)
	}
	if full == nil {
		s.drop()
		return
	}
	s.mu.Lock()
	s.queue = append(s.queue, full)
	s.finalQueued = true
	s.mu.Unlock()
	s.kick()
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

// drop forgets the subscription without a word.
func (s *subscription) drop() {
	s.mu.Lock()
	s.ended = true
	if s.timer != nil {
		s.timer.Stop()
	}
	info := s.info
	s.mu.Unlock()
	if info != nil {
		info.unwatch(s)
	}
	f := s.f
	f.mu.Lock()
	if f.subs[s.key] == s {
		delete(f.subs, s.key)
		f.metrics.subscriptions.Dec()
	}
	if r := f.rooms[s.room]; r != nil {
		delete(r.subs, s.key)
	}
	f.mu.Unlock()
	s.doneOnce.Do(func() { close(s.done) })
	f.gcRoom(s.room)
}
