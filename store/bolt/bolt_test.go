package bolt_test

import (
	"path/filepath"
	"testing"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt"
	"cusax.dev/bridge/store/storetest"
)

func TestConformance(t *testing.T) {
	paths := map[store.Store]string{}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) store.Store {
			p := filepath.Join(t.TempDir(), "bridge.db")
			s, err := bolt.Open(bolt.Config{Path: p})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			paths[s] = p
			return s
		},
		Reopen: func(t *testing.T, old store.Store) store.Store {
			p := paths[old]
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			s, err := bolt.Open(bolt.Config{Path: p})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			paths[s] = p
			return s
		},
	})
}

func TestOpenErrors(t *testing.T) {
	if _, err := bolt.Open(bolt.Config{}); err == nil {
		t.Error("Open with no path = nil error")
	}
	if _, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "missing-dir", "x.db")}); err == nil {
		t.Error("Open in a missing directory = nil error")
	}
}
