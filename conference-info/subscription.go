package confinfo

// Subscription numbers the documents of one subscription (one SUBSCRIBE
// dialog): RFC 4575 versions are scoped to a subscription and go up by one
// per document sent, while State's version goes up by one per change. A
// focus that sends one NOTIFY per change could use State.Full and
// State.Partial directly; one that coalesces changes, or whose watchers
// subscribe at different times, keeps a Subscription per dialog and calls
// State.Next. The zero Subscription has sent nothing yet.
type Subscription struct {
	version  uint32 // version attribute of the last document sent
	revision uint32 // State version that document brought the watcher to
	started  bool
}

// Version is the version attribute of the last document handed out for
// this subscription (0 before the first).
func (sub *Subscription) Version() uint32 { return sub.version }

// Reset makes the next document for this subscription a full one, as a
// SUBSCRIBE refresh calls for (RFC 6665). Numbering goes on.
func (sub *Subscription) Reset() { sub.started = false }

// Next returns the document to send on sub now, and false when the watcher
// is already up to date (or the changes since its last document cancelled
// out). The first document of a subscription (and the
// first after Reset) is full; later ones are partial, carrying every change
// since the previous document. Versions go 1, 2, 3… per subscription, so a
// watcher running Apply accepts each one in turn. A watcher so far behind
// that State's history no longer reaches it gets a full document.
func (s *State) Next(sub *Subscription) (*Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var doc *Info
	if !sub.started {
		doc = s.fullLocked()
	} else {
		old, err := s.at(sub.revision)
		switch {
		case err == nil:
			doc = s.diff(old)
			if doc.empty() {
				// The changes since the last document cancelled
				// out (a user came and went): nothing to tell.
				sub.revision = s.cur.version
				return nil, false
			}
		case sub.revision == s.cur.version:
			return nil, false
		default:
			doc = s.fullLocked()
		}
	}
	sub.started = true
	sub.version++
	sub.revision = s.cur.version
	doc.Version = sub.version
	return doc, true
}

// empty reports whether a partial document changes nothing.
func (doc *Info) empty() bool {
	return doc.State == StatePartial && doc.Description == nil && doc.HostInfo == nil &&
		doc.ConferenceState == nil && doc.Users == nil && doc.SidebarsByRef == nil &&
		doc.SidebarsByVal == nil && len(doc.Ext) == 0 && len(doc.Attrs) == 0
}
