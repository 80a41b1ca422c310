package cluster

import (
	"hash/fnv"

	"cusax.dev/bridge/store"
)

// Place chooses the node a new room goes to: not draining, lowest Load,
// then fewest rooms; among nodes equal on both, the one ranking highest for
// this room by rendezvous hashing, so nodes placing rooms at the same moment
// from the same registry pick the same node for a room and spread different
// rooms evenly. ok is false when every node is draining (or there are none).
func Place(room string, nodes []store.Node) (best store.Node, ok bool) {
	var bestRank uint64
	for _, n := range nodes {
		if n.Draining {
			continue
		}
		rank := rendezvous(room, n.ID)
		if !ok || n.Load < best.Load ||
			(n.Load == best.Load && (n.Rooms < best.Rooms || (n.Rooms == best.Rooms && rank > bestRank))) {
			best, bestRank, ok = n, rank, true
		}
	}
	return best, ok
}

func rendezvous(room, node string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(room))
	h.Write([]byte{0})
	h.Write([]byte(node))
	// FNV's last bytes barely move the high bits: mix them (SplitMix64's
	// finaliser) so the ranking is not decided by the room's prefix.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
