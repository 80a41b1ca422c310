package sync

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
)

// audits returns the audit lines logged so far.
func audits(logs *testpeer.Buffer) []string {
	var out []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, " msg=audit ") {
			out = append(out, l[strings.Index(l, "action="):])
		}
	}
	return out
}

func TestOperatorViewAndActions(t *testing.T) {
	logs := &testpeer.Buffer{}
	h := newHarness(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	ctx := context.Background()
	h.s.OnChatEvent(h.chat.join("standup", "mod", "mod@example.test", muc.RoleModerator))
	h.call(t, focus.CallFacts{Room: "standup", CallID: "c1", From: "sip:+1555@trunk.test", DisplayName: "Dan"})
	h.settle(t)

	rooms, err := h.s.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 1 || rooms[0].Name != "standup" || len(rooms[0].Occupants) != 2 {
		t.Fatalf("rooms = %+v, want standup with mod and Dan", rooms)
	}
	for _, o := range rooms[0].Occupants {
		switch o.Nick {
		case "Dan":
			if !o.AudioOnly || len(o.Legs) != 1 || o.Legs[0].CallID != "c1" || o.Legs[0].Kind != "phone" {
				t.Errorf("Dan = %+v, want an audio-only occupant with call c1", o)
			}
		case "mod":
			if o.AudioOnly || len(o.Legs) != 0 || o.JID != "mod@example.test" {
				t.Errorf("mod = %+v, want a chat occupant without calls", o)
			}
		}
	}
	if _, err := h.s.Room(ctx, "nosuch"); !errors.Is(err, muc.ErrNoRoom) {
		t.Errorf("Room(nosuch) = %v, want ErrNoRoom", err)
	}

	// Mute goes through the chat face as voice revoked, and the call follows.
	if err := h.s.Moderate(ctx, Action{Kind: ActionMute, Room: "standup", Nick: "Dan", Actor: "token 127.0.0.1:1", Face: "api"}); err != nil {
		t.Fatal(err)
	}
	h.settle(t)
	if !h.audio.muted("c1") {
		t.Error("Dan's call not muted after the operator's mute")
	}
	if err := h.s.Moderate(ctx, Action{Kind: ActionBan, Room: "standup", Nick: "Dan", Face: "api"}); !errors.Is(err, ErrNoJID) {
		t.Errorf("ban of an anonymous phone = %v, want ErrNoJID", err)
	}
	if err := h.s.Moderate(ctx, Action{Kind: ActionKick, Room: "standup", Nick: "nobody", Face: "api"}); !errors.Is(err, muc.ErrNoOccupant) {
		t.Errorf("kick of an unknown nick = %v, want ErrNoOccupant", err)
	}
	// A moderator's own action in the room, and a caller's DTMF self-mute.
	h.s.OnChatEvent(muc.Event{Kind: muc.EventRoleChanged, Room: "standup", Nick: "Dan", AudioOnly: true, Role: muc.RoleParticipant, Actor: "mod"})
	h.audio.mu.Lock()
	h.audio.legs[0].SelfMuted = true
	h.audio.mu.Unlock()
	h.s.OnFocusEvent(focus.Event{Kind: focus.EventMute, Room: "standup", CallID: "c1", Muted: true, SelfMuted: true})
	// The room's own change (no actor) is not a moderation action.
	h.s.OnChatEvent(muc.Event{Kind: muc.EventRoleChanged, Room: "standup", Nick: "Dan", AudioOnly: true, Role: muc.RoleVisitor})
	h.settle(t)

	want := []string{
		`action=mute face=api actor="token 127.0.0.1:1" room=standup target=Dan outcome=done`,
		`action=ban face=api actor="" room=standup target=Dan outcome=failed`,
		`action=kick face=api actor="" room=standup target=nobody outcome="not found"`,
		`action=unmute face=muc actor=mod room=standup target=Dan outcome=done`,
		`action=self-mute face=dtmf actor=Dan room=standup target=Dan outcome=done`,
	}
	got := audits(logs)
	if len(got) != len(want) {
		t.Fatalf("audit lines:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("audit line %d = %s\nwant prefix   %s", i, got[i], want[i])
		}
	}
}

func TestRoomLimitCountsBothFaces(t *testing.T) {
	h := newHarness(t, nil)
	h.s.OnChatEvent(h.chat.join("small", "mod", "mod@example.test", muc.RoleModerator))
	h.chat.mu.Lock()
	h.chat.rooms["small"].cfg.MaxUsers = 2
	h.chat.mu.Unlock()
	if adm := h.call(t, focus.CallFacts{Room: "small", CallID: "a", From: "sip:a@x"}); adm.Verdict != focus.Accept {
		t.Fatalf("the second participant = %+v, want accepted", adm)
	}
	h.settle(t)
	adm := h.call(t, focus.CallFacts{Room: "small", CallID: "b", From: "sip:b@x"})
	if adm.Verdict != focus.RoomFull || !strings.Contains(adm.Reason, "room full: at most 2 participants") {
		t.Fatalf("the third participant = %+v, want RoomFull naming the limit", adm)
	}
	// The person already in the chat adds nobody by calling in.
	h.s.mu.Lock()
	tok := h.s.tokenForLocked("small", "mod@example.test")
	h.s.mu.Unlock()
	if adm := h.call(t, focus.CallFacts{Room: "small", CallID: "m", Token: tok}); adm.Verdict != focus.Accept {
		t.Errorf("the moderator's own call into a full room = %+v, want accepted", adm)
	}
}

func TestOperatorDialOut(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	if _, _, err := h.s.DialOut(ctx, "standup", "not a uri", "op", "api"); !errors.Is(err, ErrBadTarget) {
		t.Errorf("dial-out to a bad target = %v, want ErrBadTarget", err)
	}
	id, node, err := h.s.DialOut(ctx, "standup", "sip:dave@example.test", "op", "api")
	if err != nil || id == "" || node != "" {
		t.Fatalf("dial-out = %q %q %v, want a call placed here", id, node, err)
	}
	room, err := h.s.Room(ctx, "standup")
	if err != nil {
		t.Fatal(err)
	}
	if len(room.Occupants) != 1 || room.Occupants[0].Nick != "dave" || len(room.Occupants[0].Legs) != 1 ||
		room.Occupants[0].Legs[0].CallID != id || !room.Occupants[0].Legs[0].Ringing {
		t.Errorf("room after the dial-out = %+v, want dave ringing on %s", room, id)
	}
}
