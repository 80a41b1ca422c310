package focus

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// LegInfo is what Legs reports about a call, for sync and the admin API.
type LegInfo struct {
	CallID    string
	Room      string
	Call      CallFacts
	State     string // trying, alerting, answered, connected, on-hold, ending
	Muted     bool   // muted by the focus
	SelfMuted bool   // muted by the caller's own DTMF
	Since     time.Time
	MediaID   uint64 // the media engine's leg ID
	// Secure is true when the call's signalling came over TLS; Media is
	// MediaSRTP or MediaPlain (RFC 7081 section 7: both faces show them).
	Secure bool
	Media  string
	// Remote is where the leg's RTP goes as the offer or answer gave it
	// (zero until known).
	Remote netip.AddrPort
}

// Legs lists the calls of a room ("" = every room), oldest first.
func (f *Focus) Legs(roomName string) []LegInfo {
	var legs []*leg
	if roomName != "" {
		legs = f.roomLegs(roomName)
	} else {
		f.mu.Lock()
		names := make([]string, 0, len(f.rooms))
		for n := range f.rooms {
			names = append(names, n)
		}
		f.mu.Unlock()
		for _, n := range names {
			legs = append(legs, f.roomLegs(n)...)
		}
	}
	out := make([]LegInfo, 0, len(legs))
	for _, l := range legs {
		l.mu.Lock()
		li := LegInfo{CallID: l.callID, Room: l.room, Call: l.facts, State: l.state.String(),
			Muted: l.focusMute, SelfMuted: l.selfMute, Since: l.created, Secure: l.facts.Secure, Media: l.neg.media(), Remote: l.neg.Remote}
		if l.media != nil {
			li.MediaID = l.media.ID()
		}
		l.mu.Unlock()
		if li.State != legEnded.String() {
			out = append(out, li)
		}
	}
	return out
}

// ErrNoSuchCall is returned by the control calls for a Call-ID the focus
// does not hold.
var ErrNoSuchCall = fmt.Errorf("focus: no such call")

// Kick ends a call from the focus's side: BYE with a Reason header for an
// answered call, CANCEL for a ringing dial-out. conference-info shows the
// leg as booted (RFC 4575 disconnection-method).
// A call answered but not yet ACKed is shown disconnecting at once, but its
// BYE waits for the ACK (RFC 3261 section 15), at most 64*T1 (32 s) or
// until ctx ends, when the call is released without a BYE.
func (f *Focus) Kick(ctx context.Context, callID, reason string) error {
	l := f.legByCall(callID)
	if l == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchCall, callID)
	}
	l.hangup(ctx, "booted", reason)
	return nil
}

// SetMuted takes a caller's voice out of (or back into) every mix, shown as
// muted-via-focus in conference-info; sync calls it when MUC voice changes.
func (f *Focus) SetMuted(callID string, muted bool) error {
	l := f.legByCall(callID)
	if l == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchCall, callID)
	}
	l.mu.Lock()
	changed := l.focusMute != muted
	l.focusMute = muted
	self := l.selfMute
	l.mu.Unlock()
	if changed {
		l.applyMute()
		f.emit(Event{Kind: EventMute, Room: l.room, CallID: l.callID, Call: l.facts, Muted: muted || self})
		f.roomChanged(l.room)
	}
	return nil
}

// SetDeaf makes a caller hear nothing of the room, or the room again; sync
// lifts it once a password room's PIN is right.
func (f *Focus) SetDeaf(callID string, deaf bool) error {
	l := f.legByCall(callID)
	if l == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchCall, callID)
	}
	l.mu.Lock()
	l.focusDeaf = deaf
	l.mu.Unlock()
	l.applyMute()
	return nil
}

// CloseRoom ends a room: new INVITEs get 480 meanwhile, every call gets a
// BYE and every conference subscription a final NOTIFY (terminated,
// reason=noresource).
func (f *Focus) CloseRoom(ctx context.Context, roomName, reason string) error {
	f.mu.Lock()
	f.closing[roomName] = true
	var subs []*subscription
	if r := f.rooms[roomName]; r != nil {
		for _, s := range r.subs {
			subs = append(subs, s)
		}
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.closing, roomName)
		f.mu.Unlock()
	}()
	var wg sync.WaitGroup
	for _, l := range f.roomLegs(roomName) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.hangup(ctx, "booted", reason)
		}()
	}
	wg.Wait()
	for _, s := range subs {
		s.terminate(ctx, "noresource")
	}
	return ctx.Err()
}

// MediaDTMF is where the media engine reports an RFC 4733 digit of one of
// its legs.
func (f *Focus) MediaDTMF(mediaID uint64, digit rune) {
	if l := f.legByMedia(mediaID); l != nil {
		l.dtmf(digit)
	}
}

// MediaTimeout is where the media engine reports that a leg's RTP stopped
// (or an RTCP BYE came): the call is hung up as failed.
func (f *Focus) MediaTimeout(mediaID uint64) {
	if l := f.legByMedia(mediaID); l != nil {
		f.spawn(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
			defer cancel()
			l.hangup(ctx, "failed", "RTP timeout")
		})
	}
}

func (f *Focus) legByMedia(id uint64) *leg {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.byCall {
		l.mu.Lock()
		m := l.media
		l.mu.Unlock()
		if m != nil && m.ID() == id {
			return l
		}
	}
	return nil
}

// Subscriptions is the number of active conference subscriptions.
func (f *Focus) Subscriptions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}
