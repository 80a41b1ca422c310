package sync

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// fakeAudio stands in for the focus: it records what sync asks.
type fakeAudio struct {
	mu       gosync.Mutex
	legs     []focus.LegInfo
	kicked   []string
	closed   []string
	chat     map[string][]focus.ChatUser
	dialled  []string
	messages []string
	deaf     map[string]bool
}

func (a *fakeAudio) Kick(_ context.Context, callID, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.kicked = append(a.kicked, callID)
	return nil
}

func (a *fakeAudio) SetMuted(callID string, muted bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.legs {
		if a.legs[i].CallID == callID {
			a.legs[i].Muted = muted
			return nil
		}
	}
	return focus.ErrNoSuchCall
}

func (a *fakeAudio) SetDeaf(callID string, deaf bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range a.legs {
		if l.CallID == callID {
			if a.deaf == nil {
				a.deaf = map[string]bool{}
			}
			a.deaf[callID] = deaf
			return nil
		}
	}
	return focus.ErrNoSuchCall
}

func (a *fakeAudio) CloseRoom(_ context.Context, room, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = append(a.closed, room)
	return nil
}

func (a *fakeAudio) Legs(room string) []focus.LegInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []focus.LegInfo
	for _, l := range a.legs {
		if room == "" || l.Room == room {
			out = append(out, l)
		}
	}
	return out
}

func (a *fakeAudio) SetChatUsers(room string, users []focus.ChatUser) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.chat == nil {
		a.chat = map[string][]focus.ChatUser{}
	}
	a.chat[room] = users
}

func (a *fakeAudio) Dial(_ context.Context, room, target, _ string, _ func(focus.DialResult)) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dialled = append(a.dialled, target)
	id := fmt.Sprintf("dial-%d", len(a.dialled))
	a.legs = append(a.legs, focus.LegInfo{CallID: id, Room: room, State: "trying", Call: focus.CallFacts{Room: room, CallID: id, DialOut: true}})
	return id, nil
}

func (a *fakeAudio) SendMessage(_ context.Context, callID, _ string, body []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.messages = append(a.messages, callID+": "+string(body))
	return nil
}

func (a *fakeAudio) addLeg(call focus.CallFacts, muted bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.legs = append(a.legs, focus.LegInfo{CallID: call.CallID, Room: call.Room, Call: call, State: "connected", Muted: muted})
}

func (a *fakeAudio) muted(callID string) bool {
	for _, l := range a.Legs("") {
		if l.CallID == callID {
			return l.Muted
		}
	}
	return false
}

func (a *fakeAudio) wasKicked(callID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range a.kicked {
		if k == callID {
			return true
		}
	}
	return false
}

// fakeChat stands in for the muc service: rooms, occupants, affiliations.
type fakeChat struct {
	mu      gosync.Mutex
	ready   bool
	rooms   map[string]*fakeRoom
	private []string // "room/nick: body"
	posted  []string
	onEvent func(muc.Event)
}

type fakeRoom struct {
	cfg  store.RoomConfig
	occ  map[string]*muc.OccupantInfo
	phon map[string]muc.PhonePresence
	affs map[string]store.Affiliation
}

func newFakeChat() *fakeChat { return &fakeChat{ready: true, rooms: map[string]*fakeRoom{}} }

func (c *fakeChat) room(name string) *fakeRoom {
	r := c.rooms[name]
	if r == nil {
		r = &fakeRoom{occ: map[string]*muc.OccupantInfo{}, phon: map[string]muc.PhonePresence{}, affs: map[string]store.Affiliation{}}
		c.rooms[name] = r
	}
	return r
}

func (c *fakeChat) AddAudioOccupant(_ context.Context, room, nick string, p muc.PhonePresence) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.room(room)
	if _, ok := r.occ[nick]; ok {
		return muc.ErrNickInUse
	}
	role := muc.RoleParticipant
	if r.cfg.Moderated {
		role = muc.RoleVisitor
	}
	r.occ[nick] = &muc.OccupantInfo{Nick: nick, Role: role, AudioOnly: true}
	r.phon[nick] = p
	return nil
}

func (c *fakeChat) UpdateAudioOccupant(_ context.Context, room, nick string, p muc.PhonePresence) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.room(room)
	if o := r.occ[nick]; o == nil || !o.AudioOnly {
		return muc.ErrNoOccupant
	}
	r.phon[nick] = p
	return nil
}

func (c *fakeChat) RemoveAudioOccupant(_ context.Context, room, nick, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.room(room)
	if o := r.occ[nick]; o == nil || !o.AudioOnly {
		return muc.ErrNoOccupant
	}
	delete(r.occ, nick)
	delete(r.phon, nick)
	return nil
}

func (c *fakeChat) SendPrivateMessage(_ context.Context, room, nick, body string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.private = append(c.private, room+"/"+nick+": "+body)
	return nil
}

func (c *fakeChat) SendOccupantMessage(_ context.Context, room, nick, body string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posted = append(c.posted, room+"/"+nick+": "+body)
	return nil
}

func (c *fakeChat) SetOccupantAudio(_ context.Context, room, nick string, p *muc.PhonePresence) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.room(room)
	if o := r.occ[nick]; o == nil || o.AudioOnly {
		return muc.ErrNoOccupant
	}
	if p == nil {
		delete(r.phon, nick)
	} else {
		r.phon[nick] = *p
	}
	return nil
}

func (c *fakeChat) Rooms() []muc.RoomInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []muc.RoomInfo
	for n, r := range c.rooms {
		out = append(out, muc.RoomInfo{Name: n, Config: r.cfg, Occupants: len(r.occ)})
	}
	return out
}

func (c *fakeChat) Occupants(room string) ([]muc.OccupantInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[room]
	if r == nil {
		return nil, muc.ErrNoRoom
	}
	var out []muc.OccupantInfo
	for _, o := range r.occ {
		out = append(out, *o)
	}
	return out, nil
}

func (c *fakeChat) Affiliation(room, jid string) (store.Affiliation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[room]
	if r == nil {
		return store.AffiliationNone, muc.ErrNoRoom
	}
	if a, ok := r.affs[jid]; ok {
		return a, nil
	}
	return store.AffiliationNone, nil
}

func (c *fakeChat) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

func (c *fakeChat) SetRole(_ context.Context, room, nick string, role muc.Role, _ string) error {
	c.mu.Lock()
	r := c.room(room)
	o := r.occ[nick]
	if o == nil {
		c.mu.Unlock()
		return muc.ErrNoOccupant
	}
	o.Role = role
	ev := muc.Event{Kind: muc.EventRoleChanged, Room: room, Nick: nick, JID: o.JID, AudioOnly: o.AudioOnly, Role: role}
	on := c.onEvent
	c.mu.Unlock()
	if on != nil {
		on(ev)
	}
	return nil
}

// join puts a chat occupant in a room (as the real service would on a
// join) and returns the event sync would receive.
func (c *fakeChat) join(room, nick, jid string, role muc.Role) muc.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.room(room).occ[nick] = &muc.OccupantInfo{Nick: nick, JID: jid, Role: role}
	return muc.Event{Kind: muc.EventJoined, Room: room, Nick: nick, JID: jid, Role: role}
}

func (c *fakeChat) phone(room, nick string) (muc.PhonePresence, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[room]
	if r == nil {
		return muc.PhonePresence{}, false
	}
	p, ok := r.phon[nick]
	return p, ok
}

// harness runs a Sync on the two fakes.
type harness struct {
	s     *Sync
	audio *fakeAudio
	chat  *fakeChat
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{audio: &fakeAudio{}, chat: newFakeChat()}
	cfg := Config{Audio: h.audio, Chat: h.chat, SIPDomain: "sip.example.test", ChatDomain: "conference.example.test", AnnounceTokens: true}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	h.chat.onEvent = s.OnChatEvent
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return h
}

// call admits and connects a call the way the focus would.
func (h *harness) call(t *testing.T, call focus.CallFacts) focus.Admission {
	t.Helper()
	adm := h.s.Admit(context.Background(), call)
	if adm.Verdict == focus.Accept {
		h.audio.addLeg(call, adm.Muted)
		h.s.OnFocusEvent(focus.Event{Kind: focus.EventJoined, Room: call.Room, CallID: call.CallID, Call: call})
	}
	return adm
}

// settle waits until the Serve goroutine has applied everything queued.
func (h *harness) settle(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	h.s.do(func(context.Context) { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sync did not apply its queue")
	}
	h.s.wg.Wait()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
