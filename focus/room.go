package focus

import (
	"regexp"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// room is what the focus keeps per conference: its legs, its watchers and
// its conference-info state.
type room struct {
	name string
	legs map[string]*leg // by Call-ID
	subs map[string]*subscription
	info *roomInfo
}

// roomName matches the room part of a conference URI: what a MUC room
// local part and a SIP user part can both carry.
var roomNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// parseRoom splits sip:<room>[+token]@host into the room and the join token.
func parseRoom(u sip.Uri) (name, token string, ok bool) {
	user := strings.ToLower(u.User)
	name, token, _ = strings.Cut(user, "+")
	if !roomNameRE.MatchString(name) {
		return "", "", false
	}
	return name, token, true
}

// getRoom returns the room, creating it; call with f.mu held.
func (f *Focus) getRoomLocked(name string) *room {
	r := f.rooms[name]
	if r == nil {
		r = &room{name: name, legs: map[string]*leg{}, subs: map[string]*subscription{}}
		r.info = newRoomInfo(f, name)
		f.rooms[name] = r
	}
	return r
}

// roomExists reports whether a room has calls or watchers.
func (f *Focus) roomExists(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.rooms[name]
	return ok
}

// admitLeg puts a leg in the tables unless a limit forbids it; it returns
// the SIP status of the refusal, or 0.
func (f *Focus) admitLeg(l *leg) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.stopped:
		return sip.StatusServiceUnavailable, "Shutting Down"
	case f.closing[l.room]:
		return sip.StatusTemporarilyUnavailable, "Room Closing"
	case f.cfg.MaxCalls > 0 && len(f.byCall) >= f.cfg.MaxCalls:
		return sip.StatusServiceUnavailable, "Node Full"
	}
	if r := f.rooms[l.room]; r != nil && f.cfg.MaxCallsPerRoom > 0 && len(r.legs) >= f.cfg.MaxCallsPerRoom {
		return sip.StatusBusyHere, "Room Full"
	}
	if _, dup := f.byCall[l.callID]; dup {
		return sip.StatusLoopDetected, "Call-ID Already In Use"
	}
	r := f.getRoomLocked(l.room)
	r.legs[l.callID] = l
	f.byCall[l.callID] = l
	if l.dlg != nil {
		f.legs[l.dlg.key()] = l
	}
	f.metrics.dialogs.Inc()
	return 0, ""
}

// indexDialog makes a dial-out leg reachable by its dialog key once the
// callee's tag is known.
func (f *Focus) indexDialog(l *leg, d *dialog) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.byCall[l.callID]; ok {
		f.legs[d.key()] = l
	}
}

func (f *Focus) removeLeg(l *leg) {
	f.mu.Lock()
	if _, ok := f.byCall[l.callID]; !ok || f.byCall[l.callID] != l {
		f.mu.Unlock()
		return
	}
	delete(f.byCall, l.callID)
	l.mu.Lock()
	if l.dlg != nil {
		delete(f.legs, l.dlg.key())
	}
	l.mu.Unlock()
	r := f.rooms[l.room]
	if r != nil {
		delete(r.legs, l.callID)
	}
	f.metrics.dialogs.Dec()
	f.mu.Unlock()
	if r != nil {
		r.info.departed(f.roomLegs(l.room), l.view())
	}
	f.gcRoom(l.room)
}

// gcRoom forgets a room nobody calls or watches.
func (f *Focus) gcRoom(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.rooms[name]; r != nil && len(r.legs) == 0 && len(r.subs) == 0 {
		r.info.mu.Lock()
		kept := len(r.info.chat) + len(r.info.web)
		r.info.mu.Unlock()
		if kept == 0 {
			delete(f.rooms, name)
		}
	}
}

func (f *Focus) legByKey(key string) *leg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.legs[key]
}

func (f *Focus) legByCall(callID string) *leg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byCall[callID]
}

// roomLegs returns the legs of a room, oldest first.
func (f *Focus) roomLegs(name string) []*leg {
	f.mu.Lock()
	r := f.rooms[name]
	var out []*leg
	if r != nil {
		for _, l := range r.legs {
			out = append(out, l)
		}
	}
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b *leg) int { return a.created.Compare(b.created) })
	return out
}

// emit hands an event to Config.OnEvent.
func (f *Focus) emit(ev Event) {
	if f.cfg.OnEvent != nil {
		f.cfg.OnEvent(ev)
	}
}

// roomChanged recomputes a room's conference-info and notifies watchers.
func (f *Focus) roomChanged(name string) {
	f.mu.Lock()
	r := f.rooms[name]
	f.mu.Unlock()
	if r == nil {
		return
	}
	r.info.update(f.roomLegs(name))
}
