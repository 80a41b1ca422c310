package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store"
)

// This file is what operators see and do through sync (issue 17): one view
// of a room's two faces, and actions taken through the chat face exactly as
// a moderator's would be, so the room shows them as usual and the audio
// follows from the same events (a kick is a 307 that becomes a BYE).

// RoomModeration is what an operator's ban, end of a room and room limit
// need from the chat face beyond Chat: *muc.Service satisfies it. Sync
// finds it on Config.Chat; without it (a chat face of tests) they fail.
type RoomModeration interface {
	SetAffiliation(ctx context.Context, room, bareJID string, a store.Affiliation, reason string) error
	DestroyRoom(ctx context.Context, room, reason string) error
	SetMaxUsers(ctx context.Context, room string, limit int) error
}

// ActionKind names an operator's action on a room or one of its occupants.
type ActionKind string

// The actions, each the MUC moderation it is carried out as.
const (
	ActionMute   ActionKind = "mute"   // voice revoked (role visitor)
	ActionUnmute ActionKind = "unmute" // voice granted (role participant)
	ActionKick   ActionKind = "kick"   // role none, status 307
	ActionBan    ActionKind = "ban"    // affiliation outcast, status 301
	ActionEnd    ActionKind = "end"    // the room destroyed
)

// Valid reports whether k is one of the actions.
func (k ActionKind) Valid() bool {
	switch k {
	case ActionMute, ActionUnmute, ActionKick, ActionBan, ActionEnd:
		return true
	}
	return false
}

// Action is one operator's action. Nick names the occupant (a chat
// occupant, or a phone's audio-only occupant); ActionEnd needs none.
type Action struct {
	Kind   ActionKind
	Room   string
	Nick   string
	Reason string
	// Actor and Face say who asked and through what, for the audit log
	// (e.g. "token", "api").
	Actor, Face string
}

// Chat calls an operator's ban, end of a room and room limit send to the
// link holder.
const (
	callSetAffiliation = "set-affiliation"
	callDestroyRoom    = "destroy-room"
	callSetMaxUsers    = "set-max-users"
)

// ErrNoJID says a ban was asked for an occupant without a real JID (an
// anonymous phone): there is nobody to ban, only a call to kick.
var ErrNoJID = errors.New("sync: the occupant has no JID to ban (an anonymous phone); kick it instead")

// LegView is what sync knows about one call of a room on this node.
type LegView struct {
	CallID string
	Kind   string // phone or browser
	// Nick is the occupant showing the leg: the person's own chat nick when
	// bound and in the room, else the phone's audio-only occupant.
	Nick    string
	JID     string // the bound person's bare JID; "" when anonymous
	Binding string // token, hint, directory, dial, none
	State   string // the focus's call state
	// Secure is true when the call's signalling came over TLS (HTTPS for a
	// browser); Media is its media security: srtp, dtls-srtp or rtp.
	Secure                                        bool
	Media                                         string
	Muted, SelfMuted, Talking, Held, Ringing, PIN bool
	DialOut                                       bool
	Since                                         time.Time
}

// OccupantView is one occupant of a room's chat face with the calls it
// shows.
type OccupantView struct {
	Nick        string
	JID         string
	Role        muc.Role
	Affiliation store.Affiliation
	// AudioOnly marks a phone shown as its own occupant (no chat client).
	AudioOnly bool
	Legs      []LegView
}

// RoomView is one room's two faces as one view.
type RoomView struct {
	Name      string
	Subject   string
	Config    store.RoomConfig
	Occupants []OccupantView
	// Legs are the room's calls not shown by any occupant yet (ringing,
	// awaiting a PIN).
	Legs []LegView
	// Node is the node that mixes the room's audio: "" when none does,
	// "local" for this node when it runs alone.
	Node string
	// Remote is true when Node is another node, which was asked for its
	// calls (none are shown when it does not answer in time).
	Remote bool
}

// Rooms lists every room the chat face holds (on any node, among many),
// with this node's calls in them; ctx bounds the wait for the sync loop.
func (s *Sync) Rooms(ctx context.Context) ([]RoomView, error) {
	legs, err := s.legViews(ctx, "")
	if err != nil {
		return nil, err
	}
	rooms := s.chat.Rooms()
	out := make([]RoomView, 0, len(rooms))
	seen := map[string]bool{}
	for _, r := range rooms {
		seen[r.Name] = true
		out = append(out, s.roomView(ctx, r, legs[r.Name]))
	}
	// Calls in a room the chat face does not hold (no chat face yet, or
	// the link is down) are shown all the same.
	for name, ls := range legs {
		if !seen[name] {
			out = append(out, s.roomView(ctx, muc.RoomInfo{Name: name}, ls))
		}
	}
	slices.SortFunc(out, func(a, b RoomView) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Room is one room's view; a room neither face knows gives muc.ErrNoRoom.
func (s *Sync) Room(ctx context.Context, name string) (RoomView, error) {
	legs, err := s.legViews(ctx, name)
	if err != nil {
		return RoomView{}, err
	}
	info, ok := s.roomInfo(name)
	if !ok && len(legs[name]) == 0 {
		return RoomView{}, fmt.Errorf("room %q: %w", name, muc.ErrNoRoom)
	}
	info.Name = name
	return s.roomView(ctx, info, legs[name]), nil
}

func (s *Sync) roomView(ctx context.Context, info muc.RoomInfo, legs []LegView) RoomView {
	v := RoomView{Name: info.Name, Subject: info.Subject, Config: info.Config}
	if s.nodes != nil {
		v.Node = s.nodes.owner(ctx, info.Name)
		v.Remote = v.Node != "" && v.Node != s.nodes.self
	} else if len(legs) > 0 {
		v.Node = "local"
	}
	if v.Remote {
		r, err := s.nodes.chat.askOn(store.NodeTopic(v.Node), evLegsRequest, "node "+v.Node, chatCall{Method: "legs", Room: info.Name})
		if err != nil {
			s.log.Debug("reading the calls of a room on its node", "room", info.Name, "node", v.Node, "err", err)
		}
		legs = r.Legs
	}
	occ, _ := s.chat.Occupants(info.Name)
	shown := map[string]bool{}
	for _, o := range occ {
		ov := OccupantView{Nick: o.Nick, JID: o.JID, Role: o.Role, Affiliation: o.Affiliation, AudioOnly: o.AudioOnly}
		for _, l := range legs {
			if l.Nick == o.Nick {
				ov.Legs = append(ov.Legs, l)
				shown[l.CallID] = true
			}
		}
		v.Occupants = append(v.Occupants, ov)
	}
	for _, l := range legs {
		if !shown[l.CallID] {
			v.Legs = append(v.Legs, l)
		}
	}
	return v
}

// legViews snapshots this node's calls by room ("" = every room) on the
// sync loop, which alone changes them; it waits at most readTimeout, as a
// loop that stopped (shutdown) never answers.
func (s *Sync) legViews(ctx context.Context, room string) (map[string][]LegView, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	done := make(chan map[string][]LegView, 1)
	s.do(func(context.Context) {
		live := map[string]focus.LegInfo{}
		for _, li := range s.audio.Legs(room) {
			live[li.CallID] = li
		}
		out := map[string][]LegView{}
		s.mu.Lock()
		for _, l := range s.legs {
			li, ok := live[l.callID]
			if !ok || (room != "" && l.room != room) {
				continue // admitted, never connected
			}
			nick := l.audioNick
			if nick == "" {
				nick = l.chatNick
			}
			media := li.Media
			if media == "" {
				media = l.media
			}
			out[l.room] = append(out[l.room], LegView{
				CallID: l.callID, Kind: l.kind(), Nick: nick, JID: l.jid, Binding: l.method,
				State: li.State, Secure: li.Secure || l.secure, Media: media,
				Muted: l.muted, SelfMuted: l.selfMuted, Talking: l.talking, Held: l.held,
				Ringing: l.ringing, PIN: l.pin != nil, DialOut: l.dialOut, Since: l.admitted,
			})
		}
		s.mu.Unlock()
		for _, ls := range out {
			slices.SortFunc(ls, func(a, b LegView) int { return strings.Compare(a.CallID, b.CallID) })
		}
		done <- out
	})
	select {
	case out := <-done:
		return out, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("sync: reading the calls: %w", ctx.Err())
	}
}

// Moderate carries out an operator's action through the chat face, as the
// room itself, and logs it once in the audit trail. Unknown rooms and nicks
// give muc.ErrNoRoom and muc.ErrNoOccupant.
func (s *Sync) Moderate(ctx context.Context, a Action) (err error) {
	target := a.Nick
	if a.Kind == ActionEnd {
		target = a.Room
	}
	defer func() {
		s.audit(auditEntry{action: string(a.Kind), face: a.Face, actor: a.Actor, room: a.Room, target: target, reason: a.Reason, err: err})
	}()
	if !a.Kind.Valid() {
		return fmt.Errorf("sync: unknown action %q; want mute, unmute, kick, ban or end", a.Kind)
	}
	if a.Kind == ActionEnd {
		return s.chatChange(ctx, chatCall{Method: callDestroyRoom, Room: a.Room, Reason: reasonText("ended by an operator", a.Reason)})
	}
	occ, err := s.chat.Occupants(a.Room)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(occ, func(o muc.OccupantInfo) bool { return o.Nick == a.Nick })
	if i < 0 {
		return fmt.Errorf("nick %q in room %q: %w", a.Nick, a.Room, muc.ErrNoOccupant)
	}
	o := occ[i]
	if o.JID != "" {
		target = a.Nick + " (" + o.JID + ")"
	}
	switch a.Kind {
	case ActionMute:
		return s.chatChange(ctx, chatCall{Method: callSetRole, Room: a.Room, Nick: a.Nick, Role: muc.RoleVisitor, Reason: a.Reason})
	case ActionUnmute:
		return s.chatChange(ctx, chatCall{Method: callSetRole, Room: a.Room, Nick: a.Nick, Role: muc.RoleParticipant, Reason: a.Reason})
	case ActionKick:
		return s.chatChange(ctx, chatCall{Method: callSetRole, Room: a.Room, Nick: a.Nick, Role: muc.RoleNone, Reason: a.Reason})
	default: // ActionBan
		if o.JID == "" {
			return ErrNoJID
		}
		return s.chatChange(ctx, chatCall{Method: callSetAffiliation, Room: a.Room, JID: o.JID, Affiliation: store.AffiliationOutcast, Reason: a.Reason})
	}
}

// SetRoomLimit sets the most participants room takes, both faces together
// (muc#roomconfig_maxusers; 0: no limit), through the chat face as the
// room's owner would, and logs it in the audit trail. Who is in stays.
func (s *Sync) SetRoomLimit(ctx context.Context, room string, limit int, actor, face string) (err error) {
	defer func() {
		s.audit(auditEntry{action: "limit max_participants=" + strconv.Itoa(limit), face: face, actor: actor, room: room, target: room, err: err})
	}()
	return s.chatChange(ctx, chatCall{Method: callSetMaxUsers, Room: room, Max: limit})
}

// chatChange carries out an operator's change on the chat face: on this
// node's muc while it holds the component link, and otherwise asked of the
// holder, waiting for its answer, so the operator learns the outcome rather
// than a hope.
func (s *Sync) chatChange(ctx context.Context, call chatCall) error {
	if s.nodes != nil && s.nodes.chat.remote() {
		_, err := s.nodes.chat.ask(call)
		return err
	}
	return moderateCall(ctx, s.cfg.Chat, call)
}

// moderateCall carries out an operator's change on the local muc, for
// this node or for another that sent it to the link holder
// (clusterchat.go's handleCall).
func moderateCall(ctx context.Context, local Chat, call chatCall) error {
	if call.Method == callSetRole {
		return local.SetRole(ctx, call.Room, call.Nick, call.Role, call.Reason)
	}
	m, ok := local.(RoomModeration)
	if !ok {
		return errors.New("sync: the chat face cannot ban, end rooms or set limits (it is not a RoomModeration)")
	}
	switch call.Method {
	case callSetAffiliation:
		return m.SetAffiliation(ctx, call.Room, call.JID, call.Affiliation, call.Reason)
	case callDestroyRoom:
		return m.DestroyRoom(ctx, call.Room, call.Reason)
	case callSetMaxUsers:
		return m.SetMaxUsers(ctx, call.Room, call.Max)
	}
	return fmt.Errorf("sync: %q is not an operator's change", call.Method)
}

// ErrBadTarget says a dial-out's target is not a SIP URI with a user part.
var ErrBadTarget = errors.New("sync: want a SIP URI to call, such as sip:alice@example.test")

// evDialOut asks a room's owner node to call a phone into the room.
const evDialOut = "dial-out"

// dialOutRequest is an operator's dial-out sent to the room's owner.
type dialOutRequest struct {
	Room   string `json:"room"`
	Target string `json:"target"`
}

// DialOut calls target (a SIP URI) into room from the node that mixes it,
// placing the room first if nobody does, as a moderator's "!dial" does,
// and logs it in the audit trail. The call ID is returned when this node
// placed the call; among many nodes a call placed by the owner returns ""
// with the owner's ID in node.
func (s *Sync) DialOut(ctx context.Context, room, target, actor, face string) (callID, node string, err error) {
	defer func() {
		s.audit(auditEntry{action: "dial", face: face, actor: actor, room: room, target: target, err: err})
	}()
	user, _, ok := splitAOR(target)
	if !ok {
		return "", "", fmt.Errorf("%w, got %q", ErrBadTarget, target)
	}
	if s.nodes != nil {
		r := s.nodes.cfg.Ownership.Route(ctx, room)
		switch {
		case r.RetryAfter > 0:
			return "", "", fmt.Errorf("sync: the audio of %q is unavailable right now (%s)", room, r.Why)
		case !r.Here:
			data, _ := json.Marshal(dialOutRequest{Room: room, Target: target})
			if _, err := s.nodes.cfg.Bus.Publish(ctx, store.NodeTopic(r.Owner.ID), store.Event{Type: evDialOut, Data: data, Origin: s.nodes.self}); err != nil {
				return "", "", fmt.Errorf("sync: asking %s, the room's node, to call %s: %w", r.Owner.ID, target, err)
			}
			return "", r.Owner.ID, nil
		}
	}
	type placed struct {
		id  string
		err error
	}
	done := make(chan placed, 1)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a stopped loop never answers
	defer cancel()
	s.do(func(c context.Context) {
		id, err := s.placeDialOut(c, room, target, user)
		done <- placed{id, err}
	})
	select {
	case p := <-done:
		return p.id, "", p.err
	case <-ctx.Done():
		return "", "", fmt.Errorf("sync: calling %s: %w", target, ctx.Err())
	}
}

// dialOutHere places a dial-out another node's operator asked for.
func (n *nodes) dialOutHere(e store.Event, s *Sync) {
	var d dialOutRequest
	if err := json.Unmarshal(e.Data, &d); err != nil {
		n.log.Warn("dropping a malformed dial-out", "from", e.Origin, "err", err)
		return
	}
	user, _, ok := splitAOR(d.Target)
	if !ok {
		n.log.Warn("dropping a dial-out to a bad target", "from", e.Origin, "target", d.Target)
		return
	}
	s.do(func(ctx context.Context) {
		if _, err := s.placeDialOut(ctx, d.Room, d.Target, user); err != nil {
			s.log.Warn("a dial-out asked by another node failed", "room", d.Room, "target", d.Target, "from", e.Origin, "err", err)
		}
	})
}

// evLegsRequest asks a room's owner node for the room's calls, for an
// operator's view on another node; the answer is a chatReply with Legs.
const evLegsRequest = "legs-request"

// answerLegs answers another node's request for a room's calls.
func (n *nodes) answerLegs(e store.Event, s *Sync) {
	var call chatCall
	if err := json.Unmarshal(e.Data, &call); err != nil || call.ReplyTo == "" {
		n.log.Warn("dropping a malformed request for calls", "from", e.Origin, "err", err)
		return
	}
	if time.Since(call.Sent) > staleRead {
		return // its asker stopped waiting long ago
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	reply := chatReply{ID: call.ID}
	legs, err := s.legViews(ctx, call.Room)
	if err != nil {
		reply.Err = err.Error()
	}
	reply.Legs = legs[call.Room]
	n.chat.reply(ctx, call.ReplyTo, reply)
}
