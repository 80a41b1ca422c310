package sync

import (
	"context"
	"strings"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/muc"
)

// Room commands, typed as a message in the room (groupchat or a private
// message to any nick); the answers go privately to the sender:
//
//	!dialin       your personal dial-in URI (join token)
//	!dial <uri>   (moderators) call a phone into the audio
const (
	cmdDialIn = "!dialin"
	cmdDial   = "!dial"
)

func (s *Sync) roomCommand(ctx context.Context, ev muc.Event) {
	body := strings.TrimSpace(ev.Body)
	if ev.JID == "" {
		return
	}
	if !strings.HasPrefix(body, "!") {
		if ev.ToNick == "" {
			s.chatToPhones(ev.Room, ev.Nick, body, "")
		}
		return
	}
	verb, arg, _ := strings.Cut(body, " ")
	switch verb {
	case cmdDialIn:
		s.sendDialIn(ctx, ev.Room, ev.Nick, ev.JID)
	case cmdDial:
		s.dialOut(ctx, ev, strings.TrimSpace(arg))
	}
}

func (s *Sync) dialOut(ctx context.Context, ev muc.Event, target string) {
	reply := func(msg string) { _ = s.chat.SendPrivateMessage(ctx, ev.Room, ev.Nick, msg) }
	occ, _ := s.chat.Occupants(ev.Room)
	moderator := false
	for _, o := range occ {
		if o.Nick == ev.Nick && !o.AudioOnly && o.Role == muc.RoleModerator {
			moderator = true
		}
	}
	if !moderator {
		reply("Only moderators may call a phone into the audio.")
		return
	}
	user, _, ok := splitAOR(target)
	if !ok {
		reply("Usage: !dial sip:user@host")
		return
	}
	if s.nodes != nil {
		// The phone is called from the node that mixes the room, placing
		// the room first if nobody does yet.
		r := s.nodes.cfg.Ownership.Route(ctx, ev.Room)
		switch {
		case r.RetryAfter > 0:
			reply("The audio of this room is unavailable right now (" + r.Why + "); try again shortly.")
			return
		case !r.Here:
			if !s.nodes.sendEvent(ctx, r.Owner.ID, ev) {
				reply("Cannot reach the node that carries this room's audio; try again shortly.")
			}
			return
		}
	}
	if _, err := s.placeDialOut(ctx, ev.Room, target, user); err != nil {
		reply("Cannot call " + target + ": " + err.Error())
	}
}

// placeDialOut calls target into room from this node, the room's owner,
// and shows the ringing phone in the room; run it on the sync loop.
func (s *Sync) placeDialOut(ctx context.Context, room, target, user string) (string, error) {
	callID, err := s.audio.Dial(ctx, room, target, "", func(focus.DialResult) {})
	if err != nil {
		return "", err
	}
	l := &legState{callID: callID, room: room, method: "dial", display: user, dialOut: true, ringing: true, admitted: s.now()}
	s.mu.Lock()
	s.legs[callID] = l
	s.mu.Unlock()
	s.addAudioOccupant(ctx, l)
	return callID, nil
}
