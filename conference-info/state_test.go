package confinfo

import (
	"errors"
	"strings"
	"testing"
)

const confURI = "sip:standup@example.test"

func newTestState(t testing.TB) *State {
	t.Helper()
	s := NewState(Config{Entity: confURI})
	s.SetDescription(NewDescription("Standup", confURI, ChatURI("standup", "muc.example.test")))
	s.SetActive(true)
	return s
}

func mustEncode(t testing.TB, doc *Info) string {
	t.Helper()
	b, err := Encode(doc)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return string(b)
}

// roundTrip sends doc over the wire: encode, then decode.
func roundTrip(t testing.TB, doc *Info) *Info {
	t.Helper()
	got, err := Decode([]byte(mustEncode(t, doc)))
	if err != nil {
		t.Fatalf("Decode(Encode(doc)): %v\n%s", err, mustEncode(t, doc))
	}
	return got
}

func TestStateFullAndPartial(t *testing.T) {
	s := newTestState(t)
	watcher := roundTrip(t, s.Full())
	v := s.Version()
	stepIn := func(name string, wantState DocState, change func() error) {
		t.Helper()
		if err := change(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Version() != v+1 {
			t.Fatalf("%s: version %d, want %d", name, s.Version(), v+1)
		}
		p, err := s.Partial(v)
		if err != nil {
			t.Fatalf("%s: Partial(%d): %v", name, v, err)
		}
		if p.State != wantState {
			t.Fatalf("%s: partial document has state %q\n%s", name, p.State, mustEncode(t, p))
		}
		next, err := Apply(watcher, roundTrip(t, p))
		if err != nil {
			t.Fatalf("%s: Apply: %v", name, err)
		}
		if got, want := mustEncode(t, next), mustEncode(t, s.Full()); got != want {
			t.Fatalf("%s: after Apply\n got %s\nwant %s\npartial %s", name, got, want, mustEncode(t, p))
		}
		watcher = next
		v++
	}
	step := func(name string, change func() error) {
		t.Helper()
		stepIn(name, StatePartial, change)
	}
	alice := AudioUser("sip:alice@example.test", "Alice", Leg{Entity: "sip:alice@10.0.0.1", Status: StatusAlerting, Joining: JoinDialedIn, MediaStatus: MediaSendRecv, CallID: "c1", FromTag: "f1", ToTag: "t1"})
	step("add alice", func() error { return s.AddUser(alice) })
	step("connect alice", func() error {
		return s.UpdateEndpoint("sip:alice@example.test", "sip:alice@10.0.0.1", func(e *Endpoint) { e.Status = StatusConnected })
	})
	step("add chat user", func() error { return s.AddUser(ChatUser("xmpp:bob@example.test", "Bob")) })
	step("mute alice", func() error {
		return s.UpdateEndpoint("sip:alice@example.test", "sip:alice@10.0.0.1", func(e *Endpoint) { e.Status = StatusMutedViaFocus })
	})
	step("recvonly", func() error {
		return s.UpdateMedia("sip:alice@example.test", "sip:alice@10.0.0.1", "1", func(m *Media) { m.Status = MediaRecvOnly })
	})
	step("add video", func() error {
		return s.AddMedia("sip:alice@example.test", "sip:alice@10.0.0.1", Media{ID: "2", Type: "video", Status: MediaSendRecv})
	})
	step("remove video", func() error {
		return s.RemoveMedia("sip:alice@example.test", "sip:alice@10.0.0.1", "2")
	})
	step("second leg", func() error {
		return s.AddEndpoint("xmpp:bob@example.test", AudioEndpoint(Leg{Entity: "sip:bob@10.0.0.2", Status: StatusConnected}))
	})
	step("kick alice", func() error {
		return s.UpdateEndpoint("sip:alice@example.test", "sip:alice@10.0.0.1", func(e *Endpoint) {
			e.Status = StatusDisconnected
			e.DisconnectionMethod = DisconnectBooted
		})
	})
	step("drop bob's leg", func() error { return s.RemoveEndpoint("xmpp:bob@example.test", "sip:bob@10.0.0.2") })
	step("remove alice", func() error { return s.RemoveUser("sip:alice@example.test") })
	step("lock", func() error { s.SetLocked(true); return nil })
	step("subject", func() error {
		d := NewDescription("Standup", confURI, ChatURI("standup", "muc.example.test"))
		d.Subject = "Daily"
		s.SetDescription(d)
		return nil
	})
	// RFC 4575 has no way to clear an element in a partial document.
	stepIn("clear subject", StateFull, func() error {
		s.SetDescription(NewDescription("Standup", confURI, ChatURI("standup", "muc.example.test")))
		return nil
	})
}

func TestStateErrors(t *testing.T) {
	s := newTestState(t)
	u := ChatUser("xmpp:a@example.test", "A")
	if err := s.AddUser(u); err != nil {
		t.Fatal(err)
	}
	v := s.Version()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"add twice", s.AddUser(u), ErrExists},
		{"remove unknown user", s.RemoveUser("xmpp:nobody@example.test"), ErrNotFound},
		{"user without entity", s.AddUser(User{}), ErrInvalid},
		{"endpoint of unknown user", s.AddEndpoint("xmpp:nobody@example.test", Endpoint{Entity: "x"}), ErrNotFound},
		{"endpoint without entity", s.AddEndpoint("xmpp:a@example.test", Endpoint{}), ErrInvalid},
		{"unknown endpoint", s.UpdateEndpoint("xmpp:a@example.test", "x", func(*Endpoint) {}), ErrNotFound},
		{"media of unknown endpoint", s.AddMedia("xmpp:a@example.test", "x", Media{ID: "1"}), ErrNotFound},
		{"entity changed", s.UpdateUser("xmpp:a@example.test", func(u *User) { u.Entity = "xmpp:b@example.test" }), ErrInvalid},
		{"duplicate endpoints", s.PutUser(User{Entity: "xmpp:c@example.test", Endpoints: []Endpoint{{Entity: "e"}, {Entity: "e"}}}), ErrInvalid},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if s.Version() != v {
		t.Errorf("failed changes moved the version from %d to %d", v, s.Version())
	}
	if err := s.UpdateUser("xmpp:a@example.test", func(*User) {}); err != nil || s.Version() != v {
		t.Errorf("no-op update: err %v, version %d, want nil and %d", err, s.Version(), v)
	}
	if _, err := s.Partial(v); !errors.Is(err, ErrUpToDate) {
		t.Errorf("Partial(current): %v, want ErrUpToDate", err)
	}
	if _, err := s.Partial(v + 1); !errors.Is(err, ErrUnknownVersion) {
		t.Errorf("Partial(future): %v, want ErrUnknownVersion", err)
	}
	small := NewState(Config{Entity: confURI, History: 2})
	for i := range 5 {
		small.SetLocked(i%2 == 0)
	}
	if _, err := small.Partial(1); !errors.Is(err, ErrUnknownVersion) {
		t.Errorf("Partial(beyond history): %v, want ErrUnknownVersion", err)
	}
	if _, err := small.Partial(3); err != nil {
		t.Errorf("Partial(within history): %v", err)
	}
}

// TestPartialSinceSeveralChanges: a partial since v, applied to the
// document at v, gives Full() whatever happened in between.
func TestPartialSinceSeveralChanges(t *testing.T) {
	s := newTestState(t)
	for _, u := range []string{"a", "b", "c"} {
		if err := s.AddUser(AudioUser("sip:"+u+"@example.test", u, Leg{Entity: "leg-" + u, Status: StatusConnected, MediaStatus: MediaSendRecv})); err != nil {
			t.Fatal(err)
		}
	}
	base := roundTrip(t, s.Full())
	v := s.Version()
	if err := s.RemoveUser("sip:a@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ChatUser("xmpp:d@example.test", "d")); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateEndpoint("sip:b@example.test", "leg-b", func(e *Endpoint) { e.Status = StatusOnHold }); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ChatUser("sip:a@example.test", "a again")); err != nil {
		t.Fatal(err)
	}
	p, err := s.Partial(v)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != v+1 {
		t.Fatalf("partial version %d, want %d", p.Version, v+1)
	}
	got, err := Apply(base, roundTrip(t, p))
	if err != nil {
		t.Fatal(err)
	}
	want := s.Full()
	want.Version = v + 1
	if g, w := mustEncode(t, got), mustEncode(t, want); g != w {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
	enc := mustEncode(t, p)
	for _, frag := range []string{`state="partial"`, `<user entity="sip:a@example.test" state="partial"><display-text>a again</display-text><endpoint entity="leg-a" state="deleted">`, `<user entity="xmpp:d@example.test" state="full">`, `<status>on-hold</status>`} {
		if !strings.Contains(enc, frag) {
			t.Errorf("partial lacks %s:\n%s", frag, enc)
		}
	}
	if strings.Contains(enc, "sip:c@example.test") {
		t.Errorf("partial names unchanged user c:\n%s", enc)
	}
}

func TestSubscriptionNext(t *testing.T) {
	s := newTestState(t)
	var sub Subscription
	var watcher *Info
	recv := func(wantOK bool, wantState DocState) {
		t.Helper()
		doc, ok := s.Next(&sub)
		if ok != wantOK {
			t.Fatalf("Next: ok %v, want %v", ok, wantOK)
		}
		if !ok {
			return
		}
		if doc.State != wantState {
			t.Fatalf("Next: state %q, want %q", doc.State, wantState)
		}
		var err error
		watcher, err = Apply(watcher, roundTrip(t, doc))
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		want := s.Full()
		want.Version = sub.Version()
		if g, w := mustEncode(t, watcher), mustEncode(t, want); g != w {
			t.Fatalf("watcher\n got %s\nwant %s", g, w)
		}
	}
	recv(true, StateFull)
	if sub.Version() != 1 {
		t.Fatalf("first document version %d, want 1", sub.Version())
	}
	recv(false, "")
	s.AddUser(ChatUser("xmpp:a@example.test", "A"))
	s.AddUser(ChatUser("xmpp:b@example.test", "B"))
	s.SetLocked(true)
	recv(true, StatePartial)
	if sub.Version() != 2 {
		t.Fatalf("coalesced document version %d, want 2", sub.Version())
	}
	s.RemoveUser("xmpp:a@example.test")
	recv(true, StatePartial)
	sub.Reset()
	recv(true, StateFull)
	if sub.Version() != 4 {
		t.Fatalf("version after refresh %d, want 4", sub.Version())
	}
	// Changes that cancel out between two documents send nothing.
	s.AddUser(ChatUser("xmpp:c@example.test", "C"))
	s.RemoveUser("xmpp:c@example.test")
	recv(false, "")
	if sub.Version() != 4 {
		t.Fatalf("version after cancelled changes %d, want 4", sub.Version())
	}
	s.SetLocked(false)
	recv(true, StatePartial)
	// A watcher left behind further than the history gets a full document.
	small := NewState(Config{Entity: confURI, History: 1})
	var lag Subscription
	small.Next(&lag)
	small.SetLocked(true)
	small.SetLocked(false)
	small.SetLocked(true)
	if doc, ok := small.Next(&lag); !ok || doc.State != StateFull || doc.Version != 2 {
		t.Fatalf("lagging watcher got ok=%v state=%q version=%d, want a full document version 2", ok, doc.State, doc.Version)
	}
}
