package focus

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"sync"
	"time"

	confinfo "cusax.dev/bridge/conference-info"
)

// roomInfo keeps a room's RFC 4575 state (a confinfo.State) in step with
// its legs and feeds each watcher the partial documents that bring its copy
// up to date. The state exists only while someone watches: a room without
// watchers costs nothing per change, and a first watcher gets a state
// rebuilt from the legs.
type roomInfo struct {
	f    *Focus
	name string

	mu      sync.Mutex
	state   *confinfo.State
	watched map[*subscription]*watchPos
	chat    []confinfo.User // chat-only occupants (SetChatUsers)
	web     []WebLeg        // browser legs (SetWebLegs)
}

// watchPos is where one watcher is: the state version its copy matches and
// the version number of the last document it was sent (RFC 4575 numbers
// documents per subscription).
type watchPos struct {
	base uint32
	seq  uint32
}

func newRoomInfo(f *Focus, name string) *roomInfo {
	return &roomInfo{f: f, name: name, watched: map[*subscription]*watchPos{}}
}

// update brings the state to the room's current legs and notifies watchers.
func (ri *roomInfo) update(legs []*leg) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if ri.state == nil {
		return
	}
	ri.sync(legs, nil)
	ri.flush()
}

// departed shows a leg that just ended as disconnected, with its
// disconnection-method, before it disappears from the document.
func (ri *roomInfo) departed(legs []*leg, gone legView) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if ri.state == nil {
		return
	}
	ri.sync(legs, &gone)
	ri.flush()
	ri.sync(legs, nil)
	ri.flush()
}

// watch adds a watcher and queues the full document it starts from, under
// the same lock as every flush so that no partial can overtake it.
func (ri *roomInfo) watch(s *subscription, legs []*leg) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	ri.ensureState()
	ri.sync(legs, nil)
	full := ri.state.Full()
	pos := &watchPos{base: ri.state.Version(), seq: 1}
	full.Version = pos.seq
	ri.watched[s] = pos
	s.enqueue(full)
}

// snapshot is the full document for a one-time fetch (Expires: 0).
func (ri *roomInfo) snapshot(legs []*leg) *confinfo.Info {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	ri.ensureState()
	ri.sync(legs, nil)
	full := ri.state.Full()
	full.Version = 1
	if len(ri.watched) == 0 {
		ri.state = nil
	}
	return full
}

func (ri *roomInfo) ensureState() {
	if ri.state == nil {
		ri.state = confinfo.NewState(confinfo.Config{Entity: ri.f.conferenceURI(ri.name)})
		ri.state.SetDescription(ri.f.description(ri.name))
		ri.state.SetActive(true)
		ri.state.SetLocked(false)
	}
}

// requeue queues the full document again for a watcher (a refresh),
// numbered after what it already has.
func (ri *roomInfo) requeue(s *subscription) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if doc := ri.resyncLocked(s); doc != nil {
		s.enqueue(doc)
	}
}

// resync gives a watcher (final NOTIFY, a watcher that fell behind) the
// full document again, numbered after what it already has.
func (ri *roomInfo) resync(s *subscription) *confinfo.Info {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return ri.resyncLocked(s)
}

func (ri *roomInfo) resyncLocked(s *subscription) *confinfo.Info {
	pos := ri.watched[s]
	if ri.state == nil || pos == nil {
		return nil
	}
	full := ri.state.Full()
	pos.seq++
	pos.base = ri.state.Version()
	full.Version = pos.seq
	return full
}

// unwatch forgets a watcher; the last one takes the state with it.
func (ri *roomInfo) unwatch(s *subscription) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	delete(ri.watched, s)
	if len(ri.watched) == 0 {
		ri.state = nil
	}
}

// flush sends every watcher the partial document since its version.
func (ri *roomInfo) flush() {
	v := ri.state.Version()
	for s, pos := range ri.watched {
		if pos.base == v {
			continue
		}
		doc, err := ri.state.Partial(pos.base)
		if err != nil {
			doc = ri.state.Full()
		}
		pos.seq++
		pos.base = v
		doc.Version = pos.seq
		s.enqueue(doc)
	}
}

// sync makes the state's users those of the legs (plus gone, shown as
// disconnected), grouping endpoints by the caller's address of record.
func (ri *roomInfo) sync(legs []*leg, gone *legView) {
	views := make([]legView, 0, len(legs)+1)
	for _, l := range legs {
		v := l.view()
		if v.State == legEnded {
			continue
		}
		views = append(views, v)
	}
	if gone != nil {
		views = append(views, *gone)
	}
	want := map[string]*confinfo.User{}
	var order []string
	used := map[string]bool{}
	for _, v := range views {
		u := want[v.Entity]
		if u == nil {
			u = &confinfo.User{Entity: v.Entity, DisplayText: v.Display}
			want[v.Entity] = u
			order = append(order, v.Entity)
		}
		ep := endpointOf(v)
		if used[ep.Entity] {
			ep.Entity = fmt.Sprintf("%s;leg=%08x", ep.Entity, fnvHash(v.CallID))
		}
		used[ep.Entity] = true
		u.Endpoints = append(u.Endpoints, ep)
	}
	for _, w := range ri.web {
		u := want[w.User]
		if u == nil {
			u = &confinfo.User{Entity: w.User, DisplayText: w.DisplayText}
			want[w.User] = u
			order = append(order, w.User)
		}
		u.Endpoints = append(u.Endpoints, webEndpoint(w))
	}
	for _, c := range ri.chat {
		if _, phone := want[c.Entity]; !phone {
			u := c.Clone()
			want[c.Entity] = &u
			order = append(order, c.Entity)
		}
	}
	have := map[string]bool{}
	for _, u := range ri.state.Users() {
		have[u.Entity] = true
		if _, keep := want[u.Entity]; !keep {
			if err := ri.state.RemoveUser(u.Entity); err != nil {
				ri.f.log.Warn("conference-info: removing user", "user", u.Entity, "err", err)
			}
		}
	}
	for _, entity := range order {
		u := *want[entity]
		var err error
		if have[entity] {
			if cur, ok := ri.state.User(entity); ok && reflect.DeepEqual(normalizeForCompare(cur), normalizeForCompare(u)) {
				continue
			}
			err = ri.state.UpdateUser(entity, func(dst *confinfo.User) { *dst = u })
		} else {
			err = ri.state.AddUser(u)
		}
		if err != nil {
			ri.f.log.Warn("conference-info: updating user", "user", entity, "err", err)
		}
	}
}

// normalizeForCompare ignores the state attributes the State sets itself.
func normalizeForCompare(u confinfo.User) confinfo.User {
	u.State = ""
	eps := make([]confinfo.Endpoint, len(u.Endpoints))
	for i, e := range u.Endpoints {
		e.State = ""
		eps[i] = e
	}
	if len(eps) == 0 {
		eps = nil
	}
	u.Endpoints = eps
	return u
}

func fnvHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// endpointOf renders a leg as an RFC 4575 endpoint with one audio stream.
func endpointOf(v legView) confinfo.Endpoint {
	l := confinfo.Leg{Entity: v.Contact, DisplayText: v.Display, Joining: confinfo.JoinDialedIn,
		MediaStatus: confinfo.MediaSendRecv, CallID: v.CallID, FromTag: v.FromTag, ToTag: v.ToTag}
	if l.Entity == "" {
		l.Entity = v.Entity
	}
	if v.DialOut {
		l.Joining = confinfo.JoinDialedOut
	}
	switch v.State {
	case legTrying, legAnswered:
		l.Status = confinfo.StatusDialingIn
		if v.DialOut {
			l.Status = confinfo.StatusDialingOut
		}
	case legAlerting:
		l.Status = confinfo.StatusAlerting
	case legConnected:
		l.Status = confinfo.StatusConnected
	case legHeld:
		l.Status = confinfo.StatusOnHold
		l.MediaStatus = confinfo.MediaInactive
	case legEnding:
		l.Status = confinfo.StatusDisconnecting
	case legEnded:
		l.Status = confinfo.StatusDisconnected
		l.Disconnection = confinfo.DisconnectionMethod(v.Reason)
		l.MediaStatus = confinfo.MediaInactive
	}
	if v.FocusMute || v.SelfMute {
		if v.State == legConnected {
			l.Status = confinfo.StatusMutedViaFocus
		}
		if l.MediaStatus == confinfo.MediaSendRecv {
			// The caller hears the room but the room does not hear them.
			l.MediaStatus = confinfo.MediaRecvOnly
		}
	}
	ep := confinfo.AudioEndpoint(l)
	ep.JoiningInfo = &confinfo.Execution{When: v.Joined.UTC().Format(time.RFC3339)}
	signalling := "plain"
	if v.Secure {
		signalling = "tls"
	}
	ep.Media[0].Ext = append(ep.Media[0].Ext, confinfo.Security(signalling, v.Media))
	return ep
}

// description is the room's conference-description: its SIP URI and, when
// the chat face is on, the chat room as grouptextchat (RFC 7106).
func (f *Focus) description(name string) confinfo.Description {
	chat := ""
	if f.cfg.ChatDomain != "" {
		chat = confinfo.ChatURI(name, f.cfg.ChatDomain)
	}
	d := confinfo.NewDescription(name, f.conferenceURI(name), chat)
	d.AvailableMedia = &confinfo.MediaSet{Entries: []confinfo.Medium{{Label: "audio", Type: "audio",
		Status: confinfo.MediaSendRecv}}}
	return d
}

// ChatUser is a chat-only occupant shown in conference-info as a user
// without an endpoint (RFC 7081 section 4): SIP watchers see who can only
// read. Entity is its XMPP address, e.g. xmpp:alice@example.test.
type ChatUser struct {
	Entity      string
	DisplayText string
}

// SetChatUsers replaces the chat-only occupants of a room; sync calls it as
// MUC presence changes. A chat user whose entity is also a caller's is
// shown once, as the caller.
func (f *Focus) SetChatUsers(roomName string, users []ChatUser) {
	f.mu.Lock()
	r := f.getRoomLocked(roomName)
	f.mu.Unlock()
	r.info.mu.Lock()
	r.info.chat = r.info.chat[:0]
	for _, u := range users {
		r.info.chat = append(r.info.chat, confinfo.ChatUser(u.Entity, u.DisplayText))
	}
	r.info.mu.Unlock()
	f.roomChanged(roomName)
	f.gcRoom(roomName)
}
