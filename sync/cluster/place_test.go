package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/sync/cluster"
)

func TestPlace(t *testing.T) {
	cases := []struct {
		name  string
		nodes []store.Node
		want  string // "" means ok false
	}{
		{"no nodes", nil, ""},
		{"every node draining", []store.Node{{ID: "a", Draining: true}, {ID: "b", Draining: true}}, ""},
		{"one node", []store.Node{{ID: "a", Load: 7, Rooms: 3}}, "a"},
		{"draining skipped though least loaded", []store.Node{
			{ID: "a", Load: 0, Rooms: 0, Draining: true},
			{ID: "b", Load: 9, Rooms: 9},
		}, "b"},
		{"lowest load wins", []store.Node{
			{ID: "a", Load: 5, Rooms: 1},
			{ID: "b", Load: 2, Rooms: 8},
			{ID: "c", Load: 3, Rooms: 0},
		}, "b"},
		{"load beats fewer rooms", []store.Node{
			{ID: "a", Load: 1, Rooms: 0},
			{ID: "b", Load: 0, Rooms: 50},
		}, "b"},
		{"equal load: fewest rooms", []store.Node{
			{ID: "a", Load: 4, Rooms: 3},
			{ID: "b", Load: 4, Rooms: 1},
			{ID: "c", Load: 4, Rooms: 2},
		}, "b"},
		{"lowest load among many, draining lower one skipped", []store.Node{
			{ID: "a", Load: 1, Draining: true},
			{ID: "b", Load: 3},
			{ID: "c", Load: 2, Rooms: 5},
			{ID: "d", Load: 2, Rooms: 4},
		}, "d"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The answer must not depend on the registry's order.
			for _, nodes := range [][]store.Node{c.nodes, reversed(c.nodes)} {
				got, ok := cluster.Place("standup", nodes)
				switch {
				case c.want == "" && ok:
					t.Fatalf("Place(%v) = %q, want no node", nodes, got.ID)
				case c.want != "" && !ok:
					t.Fatalf("Place(%v) found no node, want %q", nodes, c.want)
				case got.ID != c.want:
					t.Fatalf("Place(%v) = %q, want %q", nodes, got.ID, c.want)
				}
			}
		})
	}
}

// TestPlaceTieBreak: among nodes equal on load and rooms the choice is
// made by the room's name (rendezvous), so different rooms go to different
// nodes, and the returned entry is the registry's (SIPURI intact).
func TestPlaceTieBreak(t *testing.T) {
	nodes := equalNodes(3)
	seen := map[string]bool{}
	for i := range 60 {
		got, ok := cluster.Place(fmt.Sprintf("room-%d", i), nodes)
		if !ok {
			t.Fatal("Place found no node among three idle ones")
		}
		if want := "sip:" + got.ID + "@127.0.0.1"; got.SIPURI != want {
			t.Fatalf("Place returned SIPURI %q, want %q", got.SIPURI, want)
		}
		seen[got.ID] = true
	}
	if len(seen) != 3 {
		t.Fatalf("60 rooms over 3 equal nodes landed on %d of them, want all 3", len(seen))
	}
}

// TestPlaceSpread: 10,000 rooms over 20 equal nodes land evenly (the
// expected count per node is 500 with a standard deviation of about 22),
// the answer is the same for the same inputs in any order, and losing a
// node moves only the rooms that were on it (rendezvous hashing).
func TestPlaceSpread(t *testing.T) {
	const rooms, n = 10000, 20
	nodes := equalNodes(n)
	shuffled := slices.Clone(nodes)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	without := slices.DeleteFunc(slices.Clone(nodes), func(x store.Node) bool { return x.ID == "node-07" })

	count := map[string]int{}
	moved := 0
	for i := range rooms {
		room := fmt.Sprintf("room-%d", i)
		a, _ := cluster.Place(room, nodes)
		b, _ := cluster.Place(room, nodes)
		c, _ := cluster.Place(room, shuffled)
		if a.ID != b.ID || a.ID != c.ID {
			t.Fatalf("Place(%q) gave %q, %q and (shuffled registry) %q: want one answer", room, a.ID, b.ID, c.ID)
		}
		count[a.ID]++
		d, _ := cluster.Place(room, without)
		if d.ID != a.ID {
			if a.ID != "node-07" {
				t.Fatalf("room %q moved from %q to %q when node-07 left: only node-07's rooms should move", room, a.ID, d.ID)
			}
			moved++
		}
	}
	lo, hi := rooms, 0
	for _, x := range nodes {
		lo, hi = min(lo, count[x.ID]), max(hi, count[x.ID])
	}
	t.Logf("rooms per node: min %d, max %d (mean %d)", lo, hi, rooms/n)
	if len(count) != n || lo < 400 || hi > 600 {
		t.Fatalf("rooms per node over %d nodes: %v; want every node between 400 and 600", n, count)
	}
	if moved != count["node-07"] {
		t.Fatalf("%d rooms moved when node-07 left, want its %d", moved, count["node-07"])
	}
}

func equalNodes(n int) []store.Node {
	nodes := make([]store.Node, n)
	for i := range nodes {
		id := fmt.Sprintf("node-%02d", i)
		nodes[i] = store.Node{ID: id, SIPURI: "sip:" + id + "@127.0.0.1", Load: 3, Rooms: 2}
	}
	return nodes
}

func reversed(nodes []store.Node) []store.Node {
	out := slices.Clone(nodes)
	slices.Reverse(out)
	return out
}
