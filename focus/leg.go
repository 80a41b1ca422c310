package focus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// legState is where a call leg is in its life. Every change goes through
// transition, which refuses the moves legNext does not list.
type legState int

const (
	legTrying    legState = iota // INVITE received (or sent), no answer yet
	legAlerting                  // dial-out: the callee is ringing
	legAnswered                  // 2xx sent or received, ACK pending
	legConnected                 // media flows both ways
	legHeld                      // the peer put the call on hold
	legEnding                    // BYE or CANCEL sent, waiting for its answer
	legEnded                     // released: no ports, no timers, no goroutines
)

var legStateNames = [...]string{"trying", "alerting", "answered", "connected", "on-hold", "ending", "ended"}

func (s legState) String() string {
	if int(s) < len(legStateNames) {
		return legStateNames[s]
	}
	return fmt.Sprintf("legState(%d)", int(s))
}

// legNext lists the allowed moves.
var legNext = [...][]legState{
	legTrying:    {legAlerting, legAnswered, legEnding, legEnded},
	legAlerting:  {legAnswered, legEnding, legEnded},
	legAnswered:  {legConnected, legHeld, legEnding, legEnded},
	legConnected: {legHeld, legEnding, legEnded},
	legHeld:      {legConnected, legEnding, legEnded},
	legEnding:    {legEnded},
	legEnded:     nil,
}

// leg is one call in a room: its dialog, its media leg and its state.
type leg struct {
	f       *Focus
	room    string
	callID  string
	facts   CallFacts
	dialOut bool
	created time.Time

	mu        sync.Mutex
	state     legState
	dlg       *dialog
	media     MediaLeg
	neg       negotiated
	origin    sdpOrigin
	localSDP  []byte
	focusMute bool // muted by the focus (sync: voice revoked)
	focusDeaf bool // hears nothing of the room (sync: PIN not given yet)
	selfMute  bool // muted by the caller's own DTMF
	digits    []rune
	reason    string // disconnection method once ended
	busy      bool   // an INVITE or UPDATE transaction of this dialog is in progress
	isJoined  bool   // EventJoined went out
	display   string

	acks chan *sip.Request
	// ackDone closes when the first 2xx of an incoming call was ACKed or
	// its retransmissions gave up (64*T1): before that the focus may not
	// send BYE (RFC 3261 section 15).
	ackDone     chan struct{}
	ackDoneOnce sync.Once
	done        chan struct{}
	refresh     chan struct{} // a session refresh arrived
	cancel      func()        // stops a ringing dial-out
	timerSE     time.Duration
	uasRefr     bool // the focus refreshes the session (RFC 4028)
}

func newLeg(f *Focus, roomName string, facts CallFacts) *leg {
	return &leg{
		f:       f,
		room:    roomName,
		callID:  facts.CallID,
		facts:   facts,
		dialOut: facts.DialOut,
		created: time.Now(),
		origin:  sdpOrigin{SessionID: rand.Uint64N(1 << 62), Version: 1},
		acks:    make(chan *sip.Request, 4),
		ackDone: make(chan struct{}),
		done:    make(chan struct{}),
		refresh: make(chan struct{}, 1),
		display: facts.DisplayName,
	}
}

// transition moves the leg to s if legNext allows it.
func (l *leg) transition(s legState) bool {
	l.mu.Lock()
	ok := slices.Contains(legNext[l.state], s)
	from := l.state
	if ok {
		l.state = s
	}
	l.mu.Unlock()
	if ok {
		l.f.log.Debug("leg state", "call", l.callID, "room", l.room, "from", from, "to", s)
		if s != legEnded {
			l.f.roomChanged(l.room)
		}
	}
	return ok
}

func (l *leg) getState() legState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// snapshot is a leg as conference-info shows it.
type legView struct {
	CallID    string
	Entity    string
	Display   string
	State     legState
	FocusMute bool
	SelfMute  bool
	DialOut   bool
	Reason    string
	Joined    time.Time
	Direction Direction
	Contact   string
	FromTag   string
	ToTag     string
	Secure    bool   // signalling over TLS
	Media     string // MediaSRTP or MediaPlain
}

func (l *leg) view() legView {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := legView{CallID: l.callID, Entity: l.facts.From, Display: l.display, State: l.state,
		FocusMute: l.focusMute, SelfMute: l.selfMute, DialOut: l.dialOut, Reason: l.reason,
		Joined: l.created, Direction: l.neg.Direction, Secure: l.facts.Secure, Media: l.neg.media()}
	if d := l.dlg; d != nil {
		d.mu.Lock()
		if !l.dialOut {
			// A dial-out keeps the URI it called as its endpoint, so its
			// entity does not change when the callee answers.
			v.Contact = d.remoteTarget.String()
		}
		if l.dialOut {
			v.FromTag, v.ToTag = d.localTag, d.remoteTag
		} else {
			v.FromTag, v.ToTag = d.remoteTag, d.localTag
		}
		d.mu.Unlock()
	}
	return v
}

// finish releases everything the leg holds: its media ports, its place in
// the focus's tables and its timers. It is idempotent and never signals the
// peer; reason is the RFC 4575 disconnection-method.
func (l *leg) finish(reason string) {
	l.mu.Lock()
	if l.state == legEnded {
		l.mu.Unlock()
		return
	}
	l.state = legEnded
	if l.reason == "" {
		l.reason = reason
	}
	media := l.media
	l.media = nil
	cancel := l.cancel
	close(l.done)
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if media != nil {
		if err := media.Close(); err != nil {
			l.f.log.Warn("closing media leg", "call", l.callID, "err", err)
		}
	}
	l.f.removeLeg(l)
	l.f.log.Info("call ended", "call", l.callID, "room", l.room, "reason", reason)
	if l.joined() {
		l.f.emit(Event{Kind: EventLeft, Room: l.room, CallID: l.callID, Call: l.facts, Reason: reason})
	}
}

// joined reports whether EventJoined went out for this leg.
func (l *leg) joined() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.isJoined
}

func (l *leg) markJoined() {
	l.mu.Lock()
	l.isJoined = true
	l.mu.Unlock()
}

// hangup ends the call from the focus's side: BYE for an answered call,
// CANCEL for a ringing dial-out, a final error for an unanswered incoming
// INVITE. method is the disconnection-method (booted, failed); text goes in
// the Reason header (RFC 3326).
func (l *leg) hangup(ctx context.Context, method, text string) {
	l.mu.Lock()
	state := l.state
	cancel := l.cancel
	l.mu.Unlock()
	switch state {
	case legEnded:
		return
	case legTrying, legAlerting:
		if cancel != nil {
			l.mu.Lock()
			l.reason = method
			l.mu.Unlock()
			cancel()
			return
		}
		l.finish(method)
		return
	}
	if !l.transition(legEnding) {
		return
	}
	l.mu.Lock()
	l.reason = method
	dlg := l.dlg
	l.mu.Unlock()
	if state == legAnswered && !l.dialOut && !l.awaitAckBeforeBye(ctx) {
		l.f.log.Info("call ended before its ACK came; no BYE sent", "call", l.callID, "err", ctx.Err())
		l.finish(method)
		return
	}
	if l.getState() == legEnded {
		return // the caller hung up first (BYE after its 2xx)
	}
	if dlg != nil {
		bye := dlg.request(sip.BYE)
		if text != "" {
			bye.AppendHeader(sip.NewHeader("Reason", `SIP;cause=200;text="`+strings.ReplaceAll(text, `"`, "'")+`"`))
		}
		if _, err := l.f.do(ctx, bye); err != nil {
			l.f.log.Debug("BYE failed", "call", l.callID, "err", err)
		}
	}
	l.finish(method)
}

// acked ends the wait of awaitAckBeforeBye.
func (l *leg) acked() { l.ackDoneOnce.Do(func() { close(l.ackDone) }) }

// awaitAckBeforeBye holds a BYE for an incoming call answered but not yet
// ACKed until the ACK comes or the 2xx retransmissions time out (64*T1),
// as RFC 3261 section 15 requires of a UAS; the 2xx keeps being
// retransmitted meanwhile. It reports false when ctx ended first.
func (l *leg) awaitAckBeforeBye(ctx context.Context) bool {
	bound := time.NewTimer(64*sip.T1 + time.Second)
	defer bound.Stop()
	select {
	case <-l.ackDone:
	case <-l.done:
	case <-bound.C:
	case <-ctx.Done():
		return false
	}
	return true
}

// setMute applies the focus and self mute flags to the media.
func (l *leg) applyMute() {
	l.mu.Lock()
	m, muted, deaf := l.media, l.focusMute || l.selfMute, l.focusDeaf
	l.mu.Unlock()
	if m != nil {
		m.SetMuted(muted)
		m.SetDeaf(deaf)
	}
}

// dtmf handles one digit from RFC 4733 or SIP INFO: it becomes an event and
// may complete the self-mute sequence.
func (l *leg) dtmf(d rune) {
	l.f.emit(Event{Kind: EventDTMF, Room: l.room, CallID: l.callID, Call: l.facts, Digit: d})
	seq := l.f.cfg.SelfMute
	if seq == "-" {
		return
	}
	l.mu.Lock()
	l.digits = append(l.digits, d)
	if len(l.digits) > len(seq) {
		l.digits = l.digits[len(l.digits)-len(seq):]
	}
	toggled := string(l.digits) == seq
	if toggled {
		l.digits = l.digits[:0]
		l.selfMute = !l.selfMute
	}
	self, focus := l.selfMute, l.focusMute
	l.mu.Unlock()
	if toggled {
		l.applyMute()
		l.selfMuteTone(self)
		l.f.emit(Event{Kind: EventMute, Room: l.room, CallID: l.callID, Call: l.facts, Muted: self || focus, SelfMuted: true})
		l.f.roomChanged(l.room)
	}
}
