package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// Many nodes share one component domain, and the XMPP server accepts one
// link for it: one node's muc holds the link, the others stand by
// (muc.Config.Leases). A room's calls live on its owner node, which is
// often another. So a node's sync reaches the chat face in one of two ways:
// its own muc while it holds the link, and otherwise the bus topic that the
// holder serves (clusterChat below). Changes (show a phone, speak as the
// room) are sent and not waited for: the bus keeps them for whichever node
// holds the link next. Reads (occupants, a room's configuration, a vCard)
// wait for the holder's answer on this node's inbox, briefly.

// Bus event types between nodes.
const (
	evChatCall  = "chat-call"  // a call on the chat face, to the link holder
	evChatReply = "chat-reply" // its answer, to the caller's inbox
	evChatEvent = "chat-event" // a chat room event, to the room's owner
)

// chatTopic is the topic the link holder serves chat calls on; its fixed
// group ("link-holder") lets a successor continue where the last holder
// stopped.
func chatTopic(domain string) string { return "chat:" + domain }

const holderGroup = "link-holder"

// Chat calls, by name on the wire.
const (
	callAddAudio       = "add-audio-occupant"
	callUpdateAudio    = "update-audio-occupant"
	callRemoveAudio    = "remove-audio-occupant"
	callPrivateMessage = "private-message"
	callOccupantMsg    = "occupant-message"
	callOccupantAudio  = "occupant-audio"
	callSetRole        = "set-role"
	callRooms          = "rooms"
	callRoom           = "room"
	callOccupants      = "occupants"
	callAffiliation    = "affiliation"
	callVCard          = "vcard"
)

// chatCall is one call on the chat face, as sent to the link holder.
type chatCall struct {
	// ID and ReplyTo are set on reads: the answer goes to ReplyTo's inbox.
	ID      string    `json:"id,omitempty"`
	ReplyTo string    `json:"reply_to,omitempty"`
	Sent    time.Time `json:"sent"`
	Method  string    `json:"method"`
	Room    string    `json:"room,omitempty"`
	Nick    string    `json:"nick,omitempty"`
	Body    string    `json:"body,omitempty"`
	JID     string    `json:"jid,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Role    muc.Role  `json:"role,omitempty"`
	// Affiliation and Max are set by an operator's ban and room limit
	// (admin.go).
	Affiliation store.Affiliation  `json:"affiliation,omitempty"`
	Max         int                `json:"max,omitempty"`
	Presence    *muc.PhonePresence `json:"presence,omitempty"`
}

// chatReply answers a read.
type chatReply struct {
	ID          string             `json:"id"`
	Err         string             `json:"err,omitempty"`
	NoRoom      bool               `json:"no_room,omitempty"`
	Rooms       []muc.RoomInfo     `json:"rooms,omitempty"`
	Occupants   []muc.OccupantInfo `json:"occupants,omitempty"`
	Affiliation store.Affiliation  `json:"affiliation,omitempty"`
	VCard       []byte             `json:"vcard,omitempty"`
	// Legs answer an operator's view of a room another node mixes (admin.go).
	Legs []LegView `json:"legs,omitempty"`
}

// readTimeout bounds a read waiting for the link holder; a read older than
// staleRead when the holder sees it is dropped, its caller long gone. A
// change older than staleChange is dropped too: a new holder reading a
// long backlog must not show phones that hung up meanwhile, and the owners
// show their phones again by reconciling with every new holder anyway.
const (
	readTimeout = 2 * time.Second
	staleRead   = 5 * time.Second
	staleChange = 30 * time.Second
)

// errNoLink says no node holds the component link right now.
var errNoLink = errors.New("sync: no node holds the XMPP component link")

// clusterChat is the chat face of a node among many: the local muc while
// it holds the link, the link holder over the bus otherwise.
type clusterChat struct {
	local  Chat
	vcards VCards // the local muc's; nil without
	bus    store.Bus
	leases store.Leases
	affs   store.Affiliations
	domain string
	node   string
	log    *slog.Logger

	holderUp atomic.Bool   // some node holds the link (polled)
	holder   atomic.Uint64 // the link lease's fencing token; 0 when none
	seq      atomic.Uint64
	mu       gosync.Mutex
	waiting  map[string]chan chatReply
}

func (c *clusterChat) remote() bool { return !c.local.Ready() }

// Ready reports whether the chat face is reachable: this node or another
// holds the component link.
func (c *clusterChat) Ready() bool { return c.local.Ready() || c.holderUp.Load() }

// linkState changes whenever the chat face may have lost what this node
// showed in it: the link went down or came up, here or on the holder, or
// another node took the link over (a new grant, so a new token) — its muc
// starts without this node's phones.
func (c *clusterChat) linkState() linkState {
	return linkState{up: c.Ready(), local: c.local.Ready(), holder: c.holder.Load()}
}

// watchHolder keeps holderUp current until ctx ends.
func (c *clusterChat) watchHolder(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		lctx, cancel := context.WithTimeout(ctx, every)
		l, err := c.leases.LeaseHolder(lctx, store.ComponentLeaseName(c.domain))
		cancel()
		if err == nil || errors.Is(err, store.ErrNotFound) {
			c.holderUp.Store(err == nil)
			c.holder.Store(l.Token)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// send hands a change to the link holder without waiting for it.
func (c *clusterChat) send(ctx context.Context, call chatCall) error {
	return c.sendTo(ctx, chatTopic(c.domain), evChatCall, "the link holder", call)
}

// sendTo publishes call as an event of type evType on topic; to names the
// receiver for errors.
func (c *clusterChat) sendTo(ctx context.Context, topic, evType, to string, call chatCall) error {
	call.Sent = time.Now()
	data, err := json.Marshal(call)
	if err != nil {
		return fmt.Errorf("sync: encoding chat call %s: %w", call.Method, err)
	}
	if _, err := c.bus.Publish(ctx, topic, store.Event{Type: evType, Data: data, Origin: c.node}); err != nil {
		return fmt.Errorf("sync: sending %s to %s: %w", call.Method, to, err)
	}
	return nil
}

// ask sends a read to the link holder and waits for its answer.
func (c *clusterChat) ask(call chatCall) (chatReply, error) {
	if !c.holderUp.Load() {
		return chatReply{}, errNoLink
	}
	return c.askOn(chatTopic(c.domain), evChatCall, "the link holder", call)
}

// askOn sends a read as an event of type evType on topic and waits for
// the answer in this node's inbox; to names the receiver for errors.
func (c *clusterChat) askOn(topic, evType, to string, call chatCall) (chatReply, error) {
	call.ID = c.node + "-" + strconv.FormatUint(c.seq.Add(1), 36)
	call.ReplyTo = c.node
	ch := make(chan chatReply, 1)
	c.mu.Lock()
	c.waiting[call.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, call.ID)
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := c.sendTo(ctx, topic, evType, to, call); err != nil {
		return chatReply{}, err
	}
	select {
	case r := <-ch:
		if r.NoRoom {
			return r, fmt.Errorf("%s of %q: %w", call.Method, call.Room, muc.ErrNoRoom)
		}
		if r.Err != "" {
			return r, fmt.Errorf("sync: %s on %s: %s", call.Method, to, r.Err)
		}
		return r, nil
	case <-ctx.Done():
		return chatReply{}, fmt.Errorf("sync: %s: no answer from %s within %v", call.Method, to, readTimeout)
	}
}

// answered delivers a reply from this node's inbox to its waiting read.
func (c *clusterChat) answered(r chatReply) {
	c.mu.Lock()
	ch := c.waiting[r.ID]
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
}

func (c *clusterChat) AddAudioOccupant(ctx context.Context, room, nick string, p muc.PhonePresence) error {
	if !c.remote() {
		return c.local.AddAudioOccupant(ctx, room, nick, p)
	}
	return c.send(ctx, chatCall{Method: callAddAudio, Room: room, Nick: nick, Presence: &p})
}

func (c *clusterChat) UpdateAudioOccupant(ctx context.Context, room, nick string, p muc.PhonePresence) error {
	if !c.remote() {
		return c.local.UpdateAudioOccupant(ctx, room, nick, p)
	}
	return c.send(ctx, chatCall{Method: callUpdateAudio, Room: room, Nick: nick, Presence: &p})
}

func (c *clusterChat) RemoveAudioOccupant(ctx context.Context, room, nick, status string) error {
	if !c.remote() {
		return c.local.RemoveAudioOccupant(ctx, room, nick, status)
	}
	return c.send(ctx, chatCall{Method: callRemoveAudio, Room: room, Nick: nick, Body: status})
}

func (c *clusterChat) SendPrivateMessage(ctx context.Context, room, nick, body string) error {
	if !c.remote() {
		return c.local.SendPrivateMessage(ctx, room, nick, body)
	}
	return c.send(ctx, chatCall{Method: callPrivateMessage, Room: room, Nick: nick, Body: body})
}

func (c *clusterChat) SendOccupantMessage(ctx context.Context, room, nick, body string) error {
	if !c.remote() {
		return c.local.SendOccupantMessage(ctx, room, nick, body)
	}
	return c.send(ctx, chatCall{Method: callOccupantMsg, Room: room, Nick: nick, Body: body})
}

func (c *clusterChat) SetOccupantAudio(ctx context.Context, room, nick string, p *muc.PhonePresence) error {
	if !c.remote() {
		return c.local.SetOccupantAudio(ctx, room, nick, p)
	}
	return c.send(ctx, chatCall{Method: callOccupantAudio, Room: room, Nick: nick, Presence: p})
}

func (c *clusterChat) SetRole(ctx context.Context, room, nick string, role muc.Role, reason string) error {
	if !c.remote() {
		return c.local.SetRole(ctx, room, nick, role, reason)
	}
	return c.send(ctx, chatCall{Method: callSetRole, Room: room, Nick: nick, Role: role, Reason: reason})
}

func (c *clusterChat) Rooms() []muc.RoomInfo {
	if !c.remote() {
		return c.local.Rooms()
	}
	r, err := c.ask(chatCall{Method: callRooms})
	if err != nil {
		c.log.Debug("listing rooms on the link holder", "err", err)
	}
	return r.Rooms
}

// Room returns one room's snapshot, sparing a node among many the whole
// list for each call it admits.
func (c *clusterChat) Room(name string) (muc.RoomInfo, bool) {
	if !c.remote() {
		return findRoom(c.local.Rooms(), name)
	}
	r, err := c.ask(chatCall{Method: callRoom, Room: name})
	if err != nil {
		if !errors.Is(err, muc.ErrNoRoom) {
			c.log.Debug("reading a room on the link holder", "room", name, "err", err)
		}
		return muc.RoomInfo{}, false
	}
	return findRoom(r.Rooms, name)
}

func findRoom(rooms []muc.RoomInfo, name string) (muc.RoomInfo, bool) {
	for _, r := range rooms {
		if r.Name == name {
			return r, true
		}
	}
	return muc.RoomInfo{}, false
}

func (c *clusterChat) Occupants(room string) ([]muc.OccupantInfo, error) {
	if !c.remote() {
		return c.local.Occupants(room)
	}
	r, err := c.ask(chatCall{Method: callOccupants, Room: room})
	return r.Occupants, err
}

// Affiliation asks the link holder, which knows the affiliations of
// temporary rooms too; without a holder the store answers, so a ban is
// enforced on calls even while the link changes hands.
func (c *clusterChat) Affiliation(room, bareJID string) (store.Affiliation, error) {
	if !c.remote() {
		return c.local.Affiliation(room, bareJID)
	}
	r, err := c.ask(chatCall{Method: callAffiliation, Room: room, JID: bareJID})
	if err == nil || errors.Is(err, muc.ErrNoRoom) {
		return r.Affiliation, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	entries, serr := c.affs.Affiliations(ctx, room)
	if serr != nil {
		return store.AffiliationNone, fmt.Errorf("sync: affiliation of %s in %q: %w", bareJID, room, errors.Join(err, serr))
	}
	for _, e := range entries {
		if strings.EqualFold(e.JID, bareJID) {
			return e.Affiliation, nil
		}
	}
	return store.AffiliationNone, nil
}

func (c *clusterChat) VCard(ctx context.Context, bareJID string) ([]byte, error) {
	if !c.remote() {
		if c.vcards == nil {
			return nil, muc.ErrNoVCard
		}
		return c.vcards.VCard(ctx, bareJID)
	}
	r, err := c.ask(chatCall{Method: callVCard, JID: bareJID})
	return r.VCard, err
}

// serveCalls answers chat calls from other nodes while this node's muc
// holds the link, until ctx ends.
func (c *clusterChat) serveCalls(ctx context.Context, every time.Duration) {
	for {
		if c.local.Ready() {
			hctx, cancel := context.WithCancel(ctx)
			go func() {
				t := time.NewTicker(every)
				defer t.Stop()
				for c.local.Ready() {
					select {
					case <-hctx.Done():
						return
					case <-t.C:
					}
				}
				cancel() // the link went: stop serving, the next holder will
			}()
			err := c.bus.Subscribe(hctx, chatTopic(c.domain), holderGroup, c.handleCall)
			cancel()
			if err != nil && ctx.Err() == nil {
				c.log.Warn("serving chat calls from other nodes", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// handleCall carries out one chat call on the local muc. It never asks for
// redelivery: a change that no longer applies (the phone hung up) is
// dropped, and a read's caller stops waiting after readTimeout.
func (c *clusterChat) handleCall(ctx context.Context, e store.Event) error {
	if e.Type != evChatCall {
		return nil
	}
	var call chatCall
	if err := json.Unmarshal(e.Data, &call); err != nil {
		c.log.Warn("dropping a malformed chat call", "from", e.Origin, "err", err)
		return nil
	}
	if !c.local.Ready() {
		return errNoLink // leave it for the next holder
	}
	if age := time.Since(call.Sent); (call.ID != "" && age > staleRead) || age > staleChange {
		return nil
	}
	var err error
	reply := chatReply{ID: call.ID}
	switch call.Method {
	case callAddAudio, callUpdateAudio:
		if call.Presence == nil {
			call.Presence = &muc.PhonePresence{}
		}
		if call.Method == callAddAudio {
			err = c.local.AddAudioOccupant(ctx, call.Room, call.Nick, *call.Presence)
		} else {
			err = c.local.UpdateAudioOccupant(ctx, call.Room, call.Nick, *call.Presence)
		}
	case callRemoveAudio:
		err = c.local.RemoveAudioOccupant(ctx, call.Room, call.Nick, call.Body)
	case callPrivateMessage:
		err = c.local.SendPrivateMessage(ctx, call.Room, call.Nick, call.Body)
	case callOccupantMsg:
		err = c.local.SendOccupantMessage(ctx, call.Room, call.Nick, call.Body)
	case callOccupantAudio:
		err = c.local.SetOccupantAudio(ctx, call.Room, call.Nick, call.Presence)
	case callSetRole:
		err = c.local.SetRole(ctx, call.Room, call.Nick, call.Role, call.Reason)
	case callSetAffiliation, callDestroyRoom, callSetMaxUsers:
		err = moderateCall(ctx, c.local, call)
	case callRooms:
		reply.Rooms = c.local.Rooms()
	case callRoom:
		if r, ok := findRoom(c.local.Rooms(), call.Room); ok {
			reply.Rooms = []muc.RoomInfo{r}
		} else {
			reply.NoRoom = true
		}
	case callOccupants:
		reply.Occupants, err = c.local.Occupants(call.Room)
	case callAffiliation:
		reply.Affiliation, err = c.local.Affiliation(call.Room, call.JID)
	case callVCard:
		if c.vcards == nil {
			err = muc.ErrNoVCard
		} else {
			vctx, cancel := context.WithTimeout(ctx, readTimeout)
			reply.VCard, err = c.vcards.VCard(vctx, call.JID)
			cancel()
		}
	default:
		c.log.Warn("dropping a chat call of unknown method", "method", call.Method, "from", e.Origin)
		return nil
	}
	if call.ID == "" {
		if err != nil {
			c.log.Debug("chat call from another node not applied", "method", call.Method, "room", call.Room, "nick", call.Nick, "err", err)
		}
		return nil
	}
	if errors.Is(err, muc.ErrNoRoom) {
		reply.NoRoom = true
	} else if err != nil {
		reply.Err = err.Error()
	}
	c.reply(ctx, call.ReplyTo, reply)
	return nil
}

// reply sends the answer to a read to the asking node's inbox.
func (c *clusterChat) reply(ctx context.Context, to string, reply chatReply) {
	data, err := json.Marshal(reply)
	if err != nil {
		c.log.Error("encoding a chat reply", "err", err)
		return
	}
	if _, err := c.bus.Publish(ctx, store.NodeTopic(to), store.Event{Type: evChatReply, Data: data, Origin: c.node}); err != nil {
		c.log.Warn("answering a read from another node", "to", to, "err", err)
	}
}
