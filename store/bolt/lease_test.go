package bolt_test

import (
	"path/filepath"
	"testing"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt"
	"cusax.dev/bridge/store/bolt/bolttest"
	"cusax.dev/bridge/store/storetest"
)

func TestLeaseConformance(t *testing.T) {
	storetest.RunLeases(t, func(t *testing.T) store.Leases { return bolttest.Open(t) })
}

func TestNodeConformance(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) store.Nodes { return bolttest.Open(t) })
}

func TestBusConformance(t *testing.T) {
	storetest.RunBus(t, func(t *testing.T) store.Bus {
		b := bolt.NewBus(0)
		t.Cleanup(func() { b.Close() })
		return b
	})
}

// TestLeaseTokensSurviveReopen: the fencing counter is in the file, so a
// restarted single node never hands out a token it handed out before.
func TestLeaseTokensSurviveReopen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bridge.db")
	s, err := bolt.Open(bolt.Config{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLease(t.Context(), "component:c", "n1", 1e9)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = bolt.Open(bolt.Config{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l2, err := s.AcquireLease(t.Context(), "component:c", "n1", 1e9)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Token <= l.Token {
		t.Errorf("token after reopen = %d, want > %d", l2.Token, l.Token)
	}
}
