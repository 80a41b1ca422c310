// Package store will hold what focus, muc and sync persist (rooms,
// affiliations, bans, bindings, ownership leases, the event bus), with an
// embedded file-backed backend by default and Redis for many nodes.
package store
