package storetest

import (
	"testing"
	"time"

	"cusax.dev/bridge/store"
)

// RunNodes is the conformance suite for store.Nodes.
func RunNodes(t *testing.T, newNodes func(t *testing.T) store.Nodes) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Nodes)
	}{
		{"HeartbeatList", testNodesHeartbeatList},
		{"Expiry", testNodesExpiry},
		{"Remove", testNodesRemove},
		{"Invalid", testNodesInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newNodes(t)) })
	}
}

func ids(nodes []store.Node) []string {
	out := []string{}
	for _, n := range nodes {
		out = append(out, n.ID)
	}
	return out
}

func testNodesHeartbeatList(t *testing.T, s store.Nodes) {
	nodes, err := s.ListNodes(ctx(t))
	if err != nil || len(nodes) != 0 {
		t.Fatalf("ListNodes on an empty registry = %v, %v", nodes, err)
	}
	for _, n := range []store.Node{
		{ID: "n3", SIPURI: "sip:127.0.0.1:5062", SIPSURI: "sips:127.0.0.1:5063", WebURL: "https://127.0.0.1:8443", Load: 7, Rooms: 2, Calls: 7},
		{ID: "n1", SIPURI: "sip:127.0.0.1:5060", Load: 3},
		{ID: "n2", SIPURI: "sip:127.0.0.1:5061", Load: 1, Draining: true},
	} {
		if err := s.Heartbeat(ctx(t), n, 10*time.Second); err != nil {
			t.Fatalf("Heartbeat(%s): %v", n.ID, err)
		}
	}
	// A second heartbeat replaces the first.
	if err := s.Heartbeat(ctx(t), store.Node{ID: "n1", SIPURI: "sip:127.0.0.1:5060", Load: 9}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	nodes, err = s.ListNodes(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(nodes); len(got) != 3 || got[0] != "n1" || got[1] != "n2" || got[2] != "n3" {
		t.Fatalf("ListNodes IDs = %v, want [n1 n2 n3]", got)
	}
	if nodes[0].Load != 9 || nodes[2].SIPURI != "sip:127.0.0.1:5062" || nodes[2].SIPSURI != "sips:127.0.0.1:5063" || nodes[2].WebURL != "https://127.0.0.1:8443" || nodes[2].Calls != 7 || !nodes[1].Draining || nodes[0].Updated.IsZero() {
		t.Errorf("ListNodes = %+v, want the last heartbeat of each, with Updated set", nodes)
	}
	best, ok := store.LeastLoaded(nodes)
	if !ok || best.ID != "n3" {
		t.Errorf("LeastLoaded = %+v, %v; want n3 (n2 drains, n1 is busier)", best, ok)
	}
}

func testNodesExpiry(t *testing.T, s store.Nodes) {
	if err := s.Heartbeat(ctx(t), store.Node{ID: "short"}, 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx(t), store.Node{ID: "long"}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		nodes, err := s.ListNodes(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		got := ids(nodes)
		if len(got) == 1 && got[0] == "long" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ListNodes = %v 15 s after the short TTL, want [long]", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testNodesRemove(t *testing.T, s store.Nodes) {
	if err := s.Heartbeat(ctx(t), store.Node{ID: "gone"}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveNode(ctx(t), "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveNode(ctx(t), "never"); err != nil {
		t.Errorf("RemoveNode(absent) = %v, want nil", err)
	}
	nodes, err := s.ListNodes(ctx(t))
	if err != nil || len(nodes) != 0 {
		t.Errorf("ListNodes after remove = %v, %v; want none", nodes, err)
	}
}

func testNodesInvalid(t *testing.T, s store.Nodes) {
	if err := s.Heartbeat(ctx(t), store.Node{}, time.Second); err == nil {
		t.Error("Heartbeat without an ID = nil error")
	}
	if err := s.Heartbeat(ctx(t), store.Node{ID: "x"}, 0); err == nil {
		t.Error("Heartbeat with TTL 0 = nil error")
	}
	nodes, _ := s.ListNodes(ctx(t))
	if len(nodes) != 0 {
		t.Errorf("invalid heartbeats left %v", nodes)
	}
}
