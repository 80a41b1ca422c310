package muc

import (
	"context"
	"testing"
	"time"
)

// Events carry when the stanza behind them reached the component, so sync
// can measure a moderator's action to its effect on the audio; a command's
// events carry when it was given.
func TestEventArrivalTime(t *testing.T) {
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, func(c *Config) { c.Now = func() time.Time { return clock } })
	h.join("alice@example.test/pc", "alice")
	h.join("bob@example.test/pc", "bob")
	h.events()

	arrived := clock.Add(-250 * time.Millisecond)
	el, err := parseElement([]byte(`<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='v'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='bob' role='visitor'/></query></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	h.s.handleArrived(el, arrived)
	h.s.takeOut()
	evs := h.events()
	if len(evs) != 1 || evs[0].Kind != EventRoleChanged {
		t.Fatalf("events = %+v, want one role change", evs)
	}
	if !evs[0].At.Equal(arrived) {
		t.Errorf("voice revoke At = %v, want the stanza's arrival %v", evs[0].At, arrived)
	}

	if err := h.s.SetRole(context.Background(), "standup", "bob", RoleParticipant, "back"); err != nil {
		t.Fatal(err)
	}
	evs = h.events()
	if len(evs) != 1 || !evs[0].At.Equal(clock) {
		t.Errorf("command events = %+v, want At = now %v", evs, clock)
	}
}
