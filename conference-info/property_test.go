package confinfo

import (
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomChange makes one random change to s, from the kinds a focus and
// the sync layer make (and a few they rarely do, such as clearing a field
// or dropping a media stream). It returns a description for failure logs.
func randomChange(r *rand.Rand, s *State) string {
	users := s.Users()
	pick := func() (User, bool) {
		if len(users) == 0 {
			return User{}, false
		}
		return users[r.IntN(len(users))], true
	}
	statuses := []EndpointStatus{StatusAlerting, StatusConnected, StatusOnHold, StatusMutedViaFocus, StatusDisconnected, StatusDialingIn}
	mstatus := []MediaStatus{MediaSendRecv, MediaRecvOnly, MediaSendOnly, MediaInactive}
	leg := func(n int) Leg {
		return Leg{
			Entity:      fmt.Sprintf("sip:leg%d@192.0.2.%d", n, r.IntN(5)),
			Status:      statuses[r.IntN(len(statuses))],
			Joining:     JoinDialedIn,
			MediaStatus: mstatus[r.IntN(len(mstatus))],
			SrcID:       fmt.Sprint(r.Uint32()),
			CallID:      fmt.Sprintf("call-%d", r.IntN(1000)),
			FromTag:     "f", ToTag: "t",
		}
	}
	switch k := r.IntN(23); k {
	case 0, 1, 2:
		u := AudioUser(fmt.Sprintf("sip:u%d@example.test", r.IntN(12)), fmt.Sprintf("User %d", r.IntN(3)), leg(r.IntN(3)))
		if r.IntN(3) == 0 {
			u.Roles = &Roles{Entries: []string{"participant"}}
		}
		return fmt.Sprintf("add %s: %v", u.Entity, s.AddUser(u))
	case 3:
		u := ChatUser(fmt.Sprintf("xmpp:c%d@example.test", r.IntN(8)), "Chat")
		return fmt.Sprintf("add chat %s: %v", u.Entity, s.AddUser(u))
	case 4, 5:
		if u, ok := pick(); ok {
			return fmt.Sprintf("remove %s: %v", u.Entity, s.RemoveUser(u.Entity))
		}
	case 6, 7, 8:
		if u, ok := pick(); ok && len(u.Endpoints) > 0 {
			e := u.Endpoints[r.IntN(len(u.Endpoints))]
			st := statuses[r.IntN(len(statuses))]
			return fmt.Sprintf("status %s %s: %v", e.Entity, st, s.UpdateEndpoint(u.Entity, e.Entity, func(e *Endpoint) {
				e.Status = st
				if st == StatusDisconnected && r.IntN(2) == 0 {
					e.DisconnectionMethod = DisconnectBooted
					e.DisconnectionInfo = &Execution{Reason: "kicked", By: "xmpp:mod@example.test"}
				}
			}))
		}
	case 9, 10:
		if u, ok := pick(); ok && len(u.Endpoints) > 0 {
			e := u.Endpoints[r.IntN(len(u.Endpoints))]
			if len(e.Media) > 0 {
				m := e.Media[r.IntN(len(e.Media))]
				st := mstatus[r.IntN(len(mstatus))]
				return fmt.Sprintf("media %s: %v", st, s.UpdateMedia(u.Entity, e.Entity, m.ID, func(m *Media) { m.Status = st }))
			}
		}
	case 11:
		if u, ok := pick(); ok && len(u.Endpoints) > 0 {
			e := u.Endpoints[r.IntN(len(u.Endpoints))]
			id := fmt.Sprint(r.IntN(4))
			if r.IntN(2) == 0 {
				return fmt.Sprintf("remove media %s: %v", id, s.RemoveMedia(u.Entity, e.Entity, id))
			}
			return fmt.Sprintf("add media %s: %v", id, s.AddMedia(u.Entity, e.Entity, Media{ID: id, Type: "video", Status: MediaSendOnly}))
		}
	case 12:
		if u, ok := pick(); ok {
			l := leg(r.IntN(4))
			if r.IntN(2) == 0 {
				return fmt.Sprintf("add endpoint %s: %v", l.Entity, s.AddEndpoint(u.Entity, AudioEndpoint(l)))
			}
			return fmt.Sprintf("remove endpoint %s: %v", l.Entity, s.RemoveEndpoint(u.Entity, l.Entity))
		}
	case 13:
		if u, ok := pick(); ok {
			names := []string{"", "Alice", "Bob"}
			n := names[r.IntN(len(names))]
			return fmt.Sprintf("display %q: %v", n, s.UpdateUser(u.Entity, func(u *User) {
				u.DisplayText = n
				if r.IntN(3) == 0 {
					u.Languages = "en"
				}
				if r.IntN(4) == 0 {
					u.Roles = nil
				}
			}))
		}
	case 14:
		if u, ok := pick(); ok {
			nu := AudioUser(u.Entity, "Replaced", leg(r.IntN(3)))
			return fmt.Sprintf("put %s: %v", u.Entity, s.PutUser(nu))
		}
	case 15:
		b := r.IntN(2) == 0
		s.SetLocked(b)
		return fmt.Sprintf("locked %v", b)
	case 16:
		b := r.IntN(2) == 0
		s.SetActive(b)
		return fmt.Sprintf("active %v", b)
	case 17:
		d := NewDescription("Standup", confURI, ChatURI("standup", "muc.example.test"))
		subjects := []string{"", "Daily", "Weekly"}
		d.Subject = subjects[r.IntN(len(subjects))]
		if r.IntN(2) == 0 {
			d.AvailableMedia = &MediaSet{Entries: []Medium{{Label: "a", Type: "audio", Status: MediaSendRecv}}}
			if r.IntN(2) == 0 {
				d.AvailableMedia.Entries = append(d.AvailableMedia.Entries, Medium{Label: "v", Type: "video"})
			}
		}
		s.SetDescription(d)
		return "description " + d.Subject
	case 18:
		if u, ok := pick(); ok {
			ext, _ := ParseElement(fmt.Sprintf(`<x:hint xmlns:x="urn:example:x" n="%d">%d</x:hint>`, r.IntN(3), r.IntN(3)))
			return fmt.Sprintf("ext: %v", s.UpdateUser(u.Entity, func(u *User) {
				if r.IntN(3) == 0 {
					u.Ext = nil
				} else {
					u.Ext = []Element{ext}
				}
			}))
		}
	case 19:
		if r.IntN(2) == 0 {
			s.SetHostInfo(&HostInfo{DisplayText: "Bridge", URIs: &URIs{Entries: []URI{{URI: "sip:focus@example.test"}}}})
		} else {
			s.SetHostInfo(nil)
		}
		return "host-info"
	case 20:
		if u, ok := pick(); ok && len(u.Endpoints) > 0 {
			e := u.Endpoints[r.IntN(len(u.Endpoints))]
			return fmt.Sprintf("endpoint details: %v", s.UpdateEndpoint(u.Entity, e.Entity, func(e *Endpoint) {
				switch r.IntN(6) {
				case 0:
					e.JoiningInfo = &Execution{When: "2026-11-22T01:00:00Z", By: "sip:focus@example.test"}
				case 1:
					e.JoiningInfo = nil
				case 2:
					e.Referred = &Execution{Reason: fmt.Sprint(r.IntN(3))}
				case 3:
					e.CallInfo = nil
				case 4:
					e.DisplayText = []string{"", "Desk phone", "Mobile"}[r.IntN(3)]
				case 5:
					e.Attrs = []ExtAttr{{Name: xml.Name{Space: "urn:example:x", Local: "codec"}, Value: fmt.Sprint(r.IntN(2))}}
					if r.IntN(3) == 0 {
						e.Attrs = nil
					}
				}
			}))
		}
	case 21:
		if u, ok := pick(); ok {
			return fmt.Sprintf("user details: %v", s.UpdateUser(u.Entity, func(u *User) {
				switch r.IntN(4) {
				case 0:
					u.AssociatedAORs = &URIs{Entries: []URI{{URI: fmt.Sprintf("xmpp:a%d@example.test", r.IntN(3))}}}
				case 1:
					u.AssociatedAORs = nil
				case 2:
					u.CascadedFocus = []string{"", "sip:other-focus@example.test"}[r.IntN(2)]
				case 3:
					u.Attrs = []ExtAttr{{Name: xml.Name{Space: "urn:example:x", Local: "jid"}, Value: fmt.Sprint(r.IntN(2))}}
					if r.IntN(3) == 0 {
						u.Attrs = nil
					}
				}
			}))
		}
	case 22:
		d := NewDescription("Standup", confURI, ChatURI("standup", "muc.example.test"))
		if r.IntN(2) == 0 {
			n := uint32(r.IntN(3) + 10)
			d.MaximumUserCount = &n
		}
		if r.IntN(2) == 0 {
			d.Keywords = "daily standup"
		}
		s.SetDescription(d)
		return "description limits"
	}
	return "nothing"
}

// TestPropertyPartialsRebuildFull: for random change sequences, a watcher
// that applies every partial document, in order and as it comes off the
// wire, to the first full document holds exactly Full() at every step.
func TestPropertyPartialsRebuildFull(t *testing.T) {
	for seed := range uint64(150) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x636f6e66))
			s := newTestState(t)
			watcher := roundTrip(t, s.Full())
			var log []string
			for range 80 {
				v := s.Version()
				log = append(log, randomChange(r, s))
				if s.Version() == v {
					continue
				}
				if s.Version() != v+1 {
					t.Fatalf("one change moved the version from %d to %d", v, s.Version())
				}
				p, err := s.Partial(v)
				if err != nil {
					t.Fatalf("Partial(%d): %v", v, err)
				}
				next, err := Apply(watcher, roundTrip(t, p))
				if err != nil {
					t.Fatalf("Apply: %v\nchanges: %q", err, log)
				}
				watcher = next
				if got, want := mustEncode(t, watcher), mustEncode(t, s.Full()); got != want {
					t.Fatalf("after %q\n got %s\nwant %s\npartial %s", log, got, want, mustEncode(t, p))
				}
			}
		})
	}
}

// TestPropertyCoalescedSubscriptions: watchers that join at random times
// and receive documents after random numbers of changes (some beyond the
// kept history) stay in step through State.Next.
func TestPropertyCoalescedSubscriptions(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x73756273))
			s := NewState(Config{Entity: confURI, History: 1 + r.IntN(8)})
			type watcher struct {
				sub  Subscription
				copy *Info
			}
			ws := make([]*watcher, 3)
			for range 150 {
				randomChange(r, s)
				for i := range ws {
					if ws[i] == nil {
						if r.IntN(10) == 0 {
							ws[i] = &watcher{}
						}
						continue
					}
					if r.IntN(3) != 0 {
						continue
					}
					w := ws[i]
					doc, ok := s.Next(&w.sub)
					if !ok {
						continue
					}
					got, err := Apply(w.copy, roundTrip(t, doc))
					if err != nil {
						t.Fatalf("watcher %d: Apply: %v", i, err)
					}
					w.copy = got
					want := s.Full()
					want.Version = w.sub.Version()
					if g, wnt := mustEncode(t, got), mustEncode(t, want); g != wnt {
						t.Fatalf("watcher %d\n got %s\nwant %s\ndoc %s", i, g, wnt, mustEncode(t, doc))
					}
				}
			}
		})
	}
}
