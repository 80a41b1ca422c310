// Package storetest is the conformance suite every store backend runs, so
// that the embedded backend and Redis behave the same for muc, focus and
// sync. A backend's test calls Run with a Harness.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"cusax.dev/bridge/store"
)

// Harness tells the suite how to get backends. New returns a fresh, empty
// backend; Reopen closes s and returns a backend over the same durable
// state (for the embedded file: reopen the file), proving that what was
// acknowledged survived.
type Harness struct {
	New    func(t *testing.T) store.Store
	Reopen func(t *testing.T, s store.Store) store.Store
}

// Run runs every conformance test as a subtest.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoomRoundTrip", testRoomRoundTrip},
		{"RoomNotFound", testRoomNotFound},
		{"RoomReplace", testRoomReplace},
		{"ListRooms", testListRooms},
		{"DeleteRoomCascades", testDeleteRoomCascades},
		{"DeleteAbsentRoom", testDeleteAbsentRoom},
		{"Affiliations", testAffiliations},
		{"AffiliationInvalid", testAffiliationInvalid},
		{"Durable", testDurable},
		{"Concurrent", testConcurrent},
		{"CanceledContext", testCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func sampleRoom(name string) store.Room {
	return store.Room{
		Name: name,
		Config: store.RoomConfig{
			Title: "Daily " + name, Description: "the " + name + " room",
			Persistent: true, Public: true, Moderated: true, MembersOnly: true,
			PasswordProtected: true, Password: "s3cret", WhoIs: "anyone", MaxUsers: 42,
			ChangeSubject: true, AllowPM: "moderators", AllowInvites: true,
			GetMemberList: []string{"moderator"}, PresenceBroadcast: []string{"moderator", "participant"},
			HistoryLength: 7,
		},
		Subject: "agenda", SubjectBy: "alice",
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func testRoomRoundTrip(t *testing.T, h Harness) {
	s := h.New(t)
	want := sampleRoom("standup")
	if err := s.PutRoom(ctx(t), want); err != nil {
		t.Fatalf("PutRoom: %v", err)
	}
	got, err := s.GetRoom(ctx(t), "standup")
	if err != nil {
		t.Fatalf("GetRoom: %v", err)
	}
	if !got.Created.Equal(want.Created) {
		t.Errorf("Created = %v, want %v", got.Created, want.Created)
	}
	got.Created = want.Created
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetRoom = %+v, want %+v", got, want)
	}
}

func testRoomNotFound(t *testing.T, h Harness) {
	s := h.New(t)
	_, err := s.GetRoom(ctx(t), "nope")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRoom(absent) error = %v, want store.ErrNotFound", err)
	}
}

func testRoomReplace(t *testing.T, h Harness) {
	s := h.New(t)
	r := sampleRoom("a")
	if err := s.PutRoom(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	r.Config.Title = "renamed"
	r.Config.MembersOnly = false
	r.Subject = ""
	if err := s.PutRoom(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRoom(ctx(t), "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.Title != "renamed" || got.Config.MembersOnly || got.Subject != "" {
		t.Errorf("after replace got %+v", got)
	}
}

func testListRooms(t *testing.T, h Harness) {
	s := h.New(t)
	rooms, err := s.ListRooms(ctx(t))
	if err != nil || len(rooms) != 0 {
		t.Fatalf("ListRooms on empty store = %v, %v; want none", rooms, err)
	}
	for _, n := range []string{"c", "a", "b"} {
		if err := s.PutRoom(ctx(t), sampleRoom(n)); err != nil {
			t.Fatal(err)
		}
	}
	rooms, err = s.ListRooms(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rooms {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"a", "b", "c"}) {
		t.Errorf("ListRooms names = %v, want [a b c]", names)
	}
}

func testDeleteRoomCascades(t *testing.T, h Harness) {
	s := h.New(t)
	if err := s.PutRoom(ctx(t), sampleRoom("gone")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRoom(ctx(t), sampleRoom("kept")); err != nil {
		t.Fatal(err)
	}
	for _, room := range []string{"gone", "kept"} {
		if err := s.SetAffiliation(ctx(t), room, store.AffiliationEntry{JID: "a@example.test", Affiliation: store.AffiliationOwner}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteRoom(ctx(t), "gone"); err != nil {
		t.Fatalf("DeleteRoom: %v", err)
	}
	if _, err := s.GetRoom(ctx(t), "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRoom after delete error = %v, want ErrNotFound", err)
	}
	affs, err := s.Affiliations(ctx(t), "gone")
	if err != nil || len(affs) != 0 {
		t.Errorf("Affiliations of deleted room = %v, %v; want none", affs, err)
	}
	affs, err = s.Affiliations(ctx(t), "kept")
	if err != nil || len(affs) != 1 {
		t.Errorf("Affiliations of other room = %v, %v; want one", affs, err)
	}
}

func testDeleteAbsentRoom(t *testing.T, h Harness) {
	s := h.New(t)
	if err := s.DeleteRoom(ctx(t), "never"); err != nil {
		t.Fatalf("DeleteRoom(absent) = %v, want nil", err)
	}
}

func testAffiliations(t *testing.T, h Harness) {
	s := h.New(t)
	set := func(jid string, a store.Affiliation, reason string) {
		t.Helper()
		if err := s.SetAffiliation(ctx(t), "r", store.AffiliationEntry{JID: jid, Affiliation: a, Reason: reason}); err != nil {
			t.Fatalf("SetAffiliation(%s, %s): %v", jid, a, err)
		}
	}
	set("owner@example.test", store.AffiliationOwner, "")
	set("admin@example.test", store.AffiliationAdmin, "")
	set("member@example.test", store.AffiliationMember, "")
	set("troll@example.test", store.AffiliationOutcast, "spam")
	set("member@example.test", store.AffiliationAdmin, "") // change
	set("admin@example.test", store.AffiliationNone, "")   // remove
	set("absent@example.test", store.AffiliationNone, "")  // removing the absent is fine
	affs, err := s.Affiliations(ctx(t), "r")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.AffiliationEntry{}
	for _, e := range affs {
		got[e.JID] = e
	}
	want := map[string]store.AffiliationEntry{
		"owner@example.test":  {JID: "owner@example.test", Affiliation: store.AffiliationOwner},
		"member@example.test": {JID: "member@example.test", Affiliation: store.AffiliationAdmin},
		"troll@example.test":  {JID: "troll@example.test", Affiliation: store.AffiliationOutcast, Reason: "spam"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Affiliations = %+v, want %+v", got, want)
	}
	none, err := s.Affiliations(ctx(t), "other")
	if err != nil || len(none) != 0 {
		t.Errorf("Affiliations(other room) = %v, %v; want none", none, err)
	}
}

func testAffiliationInvalid(t *testing.T, h Harness) {
	s := h.New(t)
	cases := []struct {
		room string
		e    store.AffiliationEntry
	}{
		{"", store.AffiliationEntry{JID: "a@example.test", Affiliation: store.AffiliationMember}},
		{"r", store.AffiliationEntry{JID: "", Affiliation: store.AffiliationMember}},
		{"r", store.AffiliationEntry{JID: "a@example.test", Affiliation: "king"}},
	}
	for _, c := range cases {
		if err := s.SetAffiliation(ctx(t), c.room, c.e); err == nil {
			t.Errorf("SetAffiliation(%q, %+v) = nil, want an error", c.room, c.e)
		}
	}
	affs, _ := s.Affiliations(ctx(t), "r")
	if len(affs) != 0 {
		t.Errorf("invalid writes left %v", affs)
	}
}

func testDurable(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("backend has no Reopen")
	}
	s := h.New(t)
	if err := s.PutRoom(ctx(t), sampleRoom("kept")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAffiliation(ctx(t), "kept", store.AffiliationEntry{JID: "o@example.test", Affiliation: store.AffiliationOwner}); err != nil {
		t.Fatal(err)
	}
	s = h.Reopen(t, s)
	r, err := s.GetRoom(ctx(t), "kept")
	if err != nil {
		t.Fatalf("GetRoom after reopen: %v", err)
	}
	if r.Config.Password != "s3cret" {
		t.Errorf("room after reopen = %+v", r)
	}
	affs, err := s.Affiliations(ctx(t), "kept")
	if err != nil || len(affs) != 1 || affs[0].Affiliation != store.AffiliationOwner {
		t.Errorf("affiliations after reopen = %v, %v", affs, err)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	s := h.New(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.PutRoom(ctx(t), sampleRoom(fmt.Sprintf("r%d", i))); err != nil {
				errs <- err
			}
			if err := s.SetAffiliation(ctx(t), "shared", store.AffiliationEntry{JID: fmt.Sprintf("u%d@example.test", i), Affiliation: store.AffiliationMember}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rooms, _ := s.ListRooms(ctx(t))
	affs, _ := s.Affiliations(ctx(t), "shared")
	if len(rooms) != 20 || len(affs) != 20 {
		t.Errorf("after 20 concurrent writers: %d rooms, %d affiliations; want 20 and 20", len(rooms), len(affs))
	}
}

func testCanceled(t *testing.T, h Harness) {
	s := h.New(t)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.PutRoom(c, sampleRoom("x")); err == nil {
		t.Error("PutRoom with a canceled context = nil, want an error")
	}
	if _, err := s.GetRoom(ctx(t), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a write with a canceled context was stored (GetRoom error %v)", err)
	}
}
