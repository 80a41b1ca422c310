package muc

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt"
)

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.db")
	st, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) { c.Store = st })
	h.join("alice@example.test/pc", "alice")
	h.setAff("bob@example.test", "member")
	if _, err := st.GetRoom(context.Background(), "standup"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a temporary room was stored (err %v)", err)
	}
	h.configure("persistentroom", "1", "roomname", "Standup")
	h.setAff("eve@example.test", "outcast")
	h.in(`<message from='alice@example.test/pc' to='` + testRoom + `' type='groupchat'><subject>kept</subject></message>`)

	rec, err := st.GetRoom(context.Background(), "standup")
	if err != nil || rec.Config.Title != "Standup" || !rec.Config.Persistent || rec.Subject != "kept" {
		t.Fatalf("stored room = %+v, %v", rec, err)
	}
	affs, _ := st.Affiliations(context.Background(), "standup")
	got := map[string]store.Affiliation{}
	for _, a := range affs {
		got[a.JID] = a.Affiliation
	}
	want := map[string]store.Affiliation{"alice@example.test": "owner", "bob@example.test": "member", "eve@example.test": "outcast"}
	if len(got) != len(want) {
		t.Fatalf("stored affiliations = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stored %s = %s, want %s", k, got[k], v)
		}
	}

	// A new service over the same store sees the room, empty, with its
	// affiliations: the ban still holds.
	h2 := newHarness(t, func(c *Config) { c.Store = st })
	if err := h2.s.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rooms := h2.s.Rooms(); len(rooms) != 1 || rooms[0].Config.Title != "Standup" || rooms[0].Subject != "kept" {
		t.Fatalf("reloaded rooms = %+v", rooms)
	}
	if out := h2.join("eve@example.test/x", "eve"); errCond(out[0]) != "forbidden" {
		t.Errorf("ban lost across restart: %v", out)
	}
	out := h2.join("alice@example.test/pc", "alice")
	if it := item(to(out, "alice@example.test/pc")[0]); it.attr("affiliation") != "owner" || hasStatus(out[0], "201") {
		t.Errorf("owner after reload: %s", out[0])
	}

	// Making it temporary again removes it from the store.
	h2.configure("persistentroom", "0")
	if _, err := st.GetRoom(context.Background(), "standup"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("room still stored after persistentroom=0 (err %v)", err)
	}
	st.Close()
}

// failingStore refuses every write, to check nothing is acknowledged
// unless it was stored.
type failingStore struct{ Store }

func (failingStore) PutRoom(context.Context, store.Room) error { return errors.New("disk full") }
func (failingStore) SetAffiliation(context.Context, string, store.AffiliationEntry) error {
	return errors.New("disk full")
}
func (failingStore) DeleteRoom(context.Context, string) error { return errors.New("disk full") }

func TestStoreFailureNotAcknowledged(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Store = failingStore{} })
	h.join("alice@example.test/pc", "alice")
	out := h.in(`<iq from='alice@example.test/pc' to='` + testRoom + `' type='set' id='cfg'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_roomname'><value>X</value></field></x></query></iq>`)
	if len(out) != 1 || errCond(out[0]) != "internal-server-error" {
		t.Fatalf("config with a failing store = %v, want internal-server-error", out)
	}
	if r := h.s.Rooms(); r[0].Config.Persistent || r[0].Config.Title == "X" {
		t.Errorf("config applied although not stored: %+v", r[0].Config)
	}
}
