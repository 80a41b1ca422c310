// Package cluster decides which bridge node mixes each room when many nodes
// share one store (DESIGN.md, "Many nodes"; docs/design/09).
//
// A room's audio is mixed on exactly one node, its owner, recorded in the
// store as the lease "room:<name>" and renewed by the owner every third of
// its TTL. A node that receives a call for a room asks Route: the room is
// here, or it is owned elsewhere (the focus answers 302 with the owner's SIP
// address), or nobody can take it right now (503 with Retry-After). A room
// with no owner is placed on the least loaded live node from the node
// registry, which every node refreshes with its load at the same pace.
//
// The placing node takes the lease in the chosen node's name, so the phone's
// redirected INVITE finds the room already placed and the chosen node adopts
// the grant: no second placement, no redirect loop, and a placement whose
// call never arrives lapses by itself.
//
// When the store is unreachable a node keeps the rooms it owns (nobody else
// can take them over while the store is down either) and refuses rooms it
// does not own; once the store is back it re-acquires any lease the store
// lost, and gives up a room only if another node holds it by then.
package cluster
