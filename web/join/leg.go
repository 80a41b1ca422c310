package join

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"

	"cusax.dev/bridge/mixer"
)

// browserLeg is one browser in a room: its PeerConnection and its packet leg
// in the mixer.
type browserLeg struct {
	s    *Server
	id   string
	room string
	nick string

	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	media *mixer.Leg

	mu        sync.Mutex
	muted     bool // by the room
	selfMuted bool
	connected bool
	ended     bool
	reason    string        // disconnection-method once ended
	text      string        // why it ended, for the page
	changed   chan struct{} // closed and replaced at every change, for the event streams
	done      chan struct{} // closed when the leg ends
	started   time.Time
}

func newBrowserLeg(s *Server, id, room, nick string) *browserLeg {
	return &browserLeg{s: s, id: id, room: room, nick: nick, changed: make(chan struct{}), done: make(chan struct{}), started: time.Now()}
}

// state is what the page is told about its own leg.
type legState struct {
	State     string `json:"state"` // connecting, connected, ended
	Muted     bool   `json:"muted"` // by a moderator
	SelfMuted bool   `json:"selfMuted"`
	Reason    string `json:"reason,omitempty"` // why it ended
	How       string `json:"how,omitempty"`    // departed, booted, failed
}

func (l *browserLeg) snapshot() (legState, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := legState{State: "connecting", Muted: l.muted, SelfMuted: l.selfMuted}
	switch {
	case l.ended:
		st.State, st.Reason, st.How = "ended", l.text, l.reason
	case l.connected:
		st.State = "connected"
	}
	return st, l.changed
}

// changedLocked wakes the event streams; call with l.mu held.
func (l *browserLeg) changedLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// writer is the mixer's way out to the browser.
type writer struct{ track *webrtc.TrackLocalStaticRTP }

// WriteRTP hands the packet to the track, which fixes SSRC and payload type
// for the negotiated binding and encrypts it (DTLS-SRTP). Before DTLS is up
// the track has no binding and the packet goes nowhere.
func (w writer) WriteRTP(b []byte) error {
	_, err := w.track.Write(b)
	return err
}

// receive feeds the browser's audio into the mixer until the track ends.
func (l *browserLeg) receive(track *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if err := l.media.Deliver(buf[:n]); errors.Is(err, mixer.ErrClosed) {
			return
		}
	}
}

// readRTCP keeps the sender's RTCP flowing through the interceptors.
func readRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// onState follows the PeerConnection: connected shows the leg in the room,
// failed or closed ends it.
func (l *browserLeg) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		l.mu.Lock()
		first := !l.connected && !l.ended
		l.connected = true
		if first {
			l.changedLocked()
		}
		l.mu.Unlock()
		if first {
			l.s.met.connected.Inc()
			l.s.met.setup.Observe(time.Since(l.started).Seconds())
			l.s.cfg.Gate.LegEvent(Event{Kind: EventJoined, Room: l.room, LegID: l.id, MediaID: l.media.ID()})
			l.s.log.Info("browser joined", "room", l.room, "leg", l.id, "nick", l.nick)
		}
	case webrtc.PeerConnectionStateFailed:
		l.end("failed", "the connection to the bridge was lost")
	case webrtc.PeerConnectionStateClosed:
		l.end("departed", "left")
	}
}

// end ends the leg once: out of the mixer, the PeerConnection closed, the
// page told why, the room told it left.
func (l *browserLeg) end(how, text string) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended, l.reason, l.text = true, how, text
	l.changedLocked()
	close(l.done)
	l.mu.Unlock()
	l.s.forget(l)
	if l.media != nil {
		l.media.Close()
	}
	l.s.met.ended.WithLabelValues(how).Inc()
	l.s.cfg.Gate.LegEvent(Event{Kind: EventLeft, Room: l.room, LegID: l.id, Reason: how})
	l.s.log.Info("browser left", "room", l.room, "leg", l.id, "how", how, "why", text)
	// Closing waits for DTLS close_notify; give the page's event stream a
	// moment to deliver why before the transport goes.
	l.s.wg.Add(1)
	go func() {
		defer l.s.wg.Done()
		time.Sleep(200 * time.Millisecond)
		if err := l.pc.Close(); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			l.s.log.Debug("closing a browser's PeerConnection", "leg", l.id, "err", err)
		}
	}()
}

// applyMute puts the leg in or out of the mix from both mute sources.
func (l *browserLeg) applyMute() {
	l.mu.Lock()
	m := l.muted || l.selfMuted
	l.changedLocked()
	l.mu.Unlock()
	l.media.SetMuted(m)
}

// connectDeadline ends a leg whose media never came up.
func (l *browserLeg) connectDeadline(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.done:
		return
	case <-t.C:
	}
	l.mu.Lock()
	stuck := !l.connected && !l.ended
	l.mu.Unlock()
	if stuck {
		l.end("failed", "the browser's media never reached the bridge")
	}
}
