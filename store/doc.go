// Package store holds what the bridge persists so that a restart or a
// failover loses nothing: rooms with their configuration and affiliations
// (XEP-0045 section 10 "owner" state) today; ownership leases, bindings and
// the event bus later (issue 8).
//
// The package declares only data types and small interfaces. Each backend
// lives in its own sub-package (store/bolt for the embedded file, Redis
// later) and proves itself by running the shared conformance suite in
// store/storetest. Consumers such as muc declare the narrower interface they
// need themselves; the backends satisfy it structurally.
//
// Every backend acknowledges a write only once it is durable: when PutRoom
// or SetAffiliation returns nil, a crash of the process immediately after
// loses none of it.
package store
