package muc

import (
	"encoding/xml"
	"slices"
	"strconv"
	"time"

	"mellium.im/xmpp/jid"
)

// Multicast through the server (XEP-0033 Extended Stanza Addressing, bcc
// only). Every groupchat copy the component sends costs the XMPP server a
// parse and a route; the server's own MUC parses once and routes N times.
// When a recipients' domain advertises http://jabber.org/protocol/address
// (the project's deploy/k8s/base/prosody-modules/mod_cusax_multicast.lua does, for trusted
// components), fanOut sends that domain ONE message to=<domain> carrying
// <addresses/> with a bcc <address/> per occupant, and the server delivers
// one copy to each, without the addresses element. Until a domain has
// answered the disco#info query (and for domains that do not support it)
// copies go one by one, as before.
//
// When the domain also advertises NSList, each (room, domain) recipient
// list gets a name (the room's bare JID) and a version; the first stanza of
// a version carries the addresses and a <list/>, which the server stores,
// and later ones only the <list/>, so the server parses no addresses at
// all. A server that no longer has that version (evicted, restarted)
// refuses with item-not-found; the copies then go one by one and the next
// stanza carries the full list again. See docs/design/05_muc.md.

// NSAddress is XEP-0033's namespace, which a server advertises in its
// disco#info when it accepts multicast from the component.
const NSAddress = "http://jabber.org/protocol/address"

// NSList is the namespace of the project's recipient lists
// (deploy/k8s/base/prosody-modules/mod_cusax_multicast.lua): a server
// advertising it remembers a multicast stanza's recipients under a name and
// version, so later stanzas to the same recipients carry no addresses.
const NSList = "urn:cusax:multicast:list:0"

const (
	// maxPendingDisco bounds the disco#info queries in flight; one per new
	// recipient domain, so this is only reached with very many domains.
	maxPendingDisco = 1000
	// maxKnownDomains bounds what the service remembers per link session;
	// beyond it new domains are served copy by copy.
	maxKnownDomains = 10000
	// discoTimeout is how long a query may stay unanswered; then the domain
	// is served copy by copy and asked again after discoRetry.
	discoTimeout = 30 * time.Second
	discoRetry   = 5 * time.Minute
	// maxAddressBytes bounds the addresses of one multicast stanza (as
	// counted by addressSize), so the stanza stays well under the server's
	// component stanza limit (Prosody: 512 KiB) whatever the JIDs (up to
	// 3 KiB each); a larger group is split. At ~80 bytes an address that is
	// about 800 recipients per stanza.
	maxAddressBytes = 64 * 1024
	// keptMulticasts is how many recent multicast stanzas are kept to be
	// resent copy by copy if the server refuses them. Stanzas naming a
	// list that the server lost are all refused, back to back, so this
	// covers what may be in flight in a burst.
	keptMulticasts = 256
	// maxLists bounds the recipient lists remembered per link session
	// (one per room and recipient domain); beyond it the oldest is
	// forgotten, and its next use sends the full list.
	maxLists = 10000
)

// domainMulticast is what the service knows of one recipient domain.
type domainMulticast struct {
	supported bool
	lists     bool      // the server also keeps named recipient lists (NSList)
	askID     string    // the disco#info query in flight, if any
	askedAt   time.Time // when it was sent
	retryAt   time.Time // after a timeout: when to ask again
}

// sentMulticast is a recent multicast stanza, kept for the fallback: the
// message without to, and the recipients it stood for.
type sentMulticast struct {
	domain, id, from string
	msg              *element
	jids             []string
	list             string // listKey, when it named a list
	v                uint64 // and that list's version
	listOnly         bool   // it carried the list's name but no addresses
}

// sentList is what the server was last told a (room, domain) list holds.
type sentList struct {
	v    uint64
	jids []string
	seq  uint64 // when last used, for dropping the oldest beyond maxLists
}

// multicastState is the per-link-session knowledge, guarded by Service.mu
// and forgotten when the link drops (the server may come back without the
// module).
type multicastState struct {
	domains map[string]*domainMulticast
	pending map[string]string // our disco#info id → domain
	recent  [keptMulticasts]sentMulticast
	next    int
	// lists are the recipient lists the server was given, by listKey.
	lists map[string]*sentList
	// version numbers every list this session: a version is never reused,
	// so a stale (id, v) on the server never matches a different list.
	version uint64
	seq     uint64
}

// listKey names the list of room's recipients at domain.
func listKey(room, domain string) string { return room + " " + domain }

// reset forgets everything learnt on the link that ended.
func (m *multicastState) reset() { *m = multicastState{} }

// multicastTo reports whether copies for domain may go as one multicast
// stanza, and starts discovery the first time the domain is seen. Called
// under s.mu.
func (s *Service) multicastTo(domain string) bool {
	if s.cfg.NoMulticast || !s.ready.Load() {
		// Queries queued while the link is down would be dropped on
		// connect, and no answer would come.
		return false
	}
	m := &s.mcast
	d := m.domains[domain]
	now := s.now()
	switch {
	case d == nil:
		if len(m.domains) >= maxKnownDomains {
			return false
		}
		d = &domainMulticast{}
		if m.domains == nil {
			m.domains = map[string]*domainMulticast{}
		}
		m.domains[domain] = d
		s.askMulticast(domain, d, now)
	case d.askID != "" && now.Sub(d.askedAt) > discoTimeout:
		delete(m.pending, d.askID)
		*d = domainMulticast{retryAt: now.Add(discoRetry)}
		s.log.Info("no disco#info answer about multicast; sending copies one by one", "domain", domain)
	case d.askID == "" && !d.supported && !d.retryAt.IsZero() && !now.Before(d.retryAt):
		s.askMulticast(domain, d, now)
	}
	return d.supported
}

// askMulticast sends domain a disco#info query from the component domain.
func (s *Service) askMulticast(domain string, d *domainMulticast, now time.Time) {
	m := &s.mcast
	if len(m.pending) >= maxPendingDisco {
		s.expireDisco(now)
		if len(m.pending) >= maxPendingDisco {
			d.retryAt = now.Add(discoRetry)
			return
		}
	}
	if m.pending == nil {
		m.pending = map[string]string{}
	}
	id := newID()
	m.pending[id] = domain
	d.askID, d.askedAt, d.retryAt = id, now, time.Time{}
	s.send(newElem(nsClient, "iq", "type", "get", "from", s.domain, "to", domain, "id", id).add(newElem(nsDiscoInfo, "query")))
}

// expireDisco drops the queries older than discoTimeout.
func (s *Service) expireDisco(now time.Time) {
	m := &s.mcast
	for id, domain := range m.pending {
		d := m.domains[domain]
		if d == nil || d.askID != id {
			delete(m.pending, id)
			continue
		}
		if now.Sub(d.askedAt) > discoTimeout {
			delete(m.pending, id)
			*d = domainMulticast{retryAt: now.Add(discoRetry)}
		}
	}
}

// multicastDiscoReply takes the answer to one of our disco#info queries; it
// reports false (leaving in to other handling) for anything else. The
// answer must come from the domain asked. Called under s.mu.
func (s *Service) multicastDiscoReply(in *element, from jid.JID) bool {
	m := &s.mcast
	id := in.attr("id")
	domain, ok := m.pending[id]
	if !ok || from.String() != domain {
		return false
	}
	delete(m.pending, id)
	d := m.domains[domain]
	if d == nil || d.askID != id {
		return true
	}
	*d = domainMulticast{}
	if in.attr("type") == "result" {
		if q := in.child(nsDiscoInfo, "query"); q != nil {
			for _, f := range q.children() {
				if f.Name.Local == "feature" && f.attr("var") == NSAddress {
					d.supported = true
				}
				if f.Name.Local == "feature" && f.attr("var") == NSList {
					d.lists = true
				}
			}
		}
	}
	d.lists = d.lists && d.supported
	s.log.Info("recipient domain multicast support", "domain", domain, "multicast", d.supported, "lists", d.lists)
	return true
}

// multicastBounce handles an error reply from a domain to one of our
// multicast stanzas. A stanza naming a recipient list the server no longer
// has (item-not-found) only costs that list: it is sent in full next time.
// Any other refusal (too many addresses, a module unloaded, …) serves the
// domain copy by copy from then on (until it is asked again after
// discoRetry). Either way the refused stanza, if still kept, is resent as
// copies, and so is every later kept stanza naming the same list version
// without its addresses: the server refuses those too, and resending them
// now, back to back, keeps each recipient's order. Their own refusals,
// arriving later, then find nothing to resend. It reports false for errors
// from anyone else, which are bounces from occupants. Called under s.mu.
func (s *Service) multicastBounce(in *element, from jid.JID) bool {
	m := &s.mcast
	domain := from.String()
	d := m.domains[domain]
	if d == nil || from.Localpart() != "" || from.Resourcepart() != "" {
		return false
	}
	s.m.multicastRefused.Inc()
	k := m.findRefused(domain, in.attr("id"), in.attr("to"))
	var sm sentMulticast
	if k >= 0 {
		sm = m.recent[k]
	}
	cond, text := stanzaErrorOf(in)
	s.learnFromRefusal(d, domain, cond, text, sm, k >= 0)
	if k < 0 {
		return true
	}
	m.forgetList(sm)
	s.resendAsCopies(k, sm)
	return true
}

// findRefused is the index in m.recent of the newest kept stanza to domain
// with the error's id, preferably one from the occupant the error goes
// back to (ids come from clients and may repeat); the server prepped that
// JID, so it may differ from ours in form, and the id alone decides then,
// as it did before lists. It is -1 when none is kept.
func (m *multicastState) findRefused(domain, id, to string) int {
	for pass := 0; pass < 2; pass++ {
		for i := range m.recent {
			j := (m.next - 1 - i + 2*keptMulticasts) % keptMulticasts
			sm := &m.recent[j]
			if sm.msg != nil && sm.domain == domain && sm.id == id && (pass == 1 || sm.from == to) {
				return j
			}
		}
	}
	return -1
}

// learnFromRefusal counts a lost list, or stops multicast to the domain
// for any other refusal. sm is the refused stanza, if kept.
func (s *Service) learnFromRefusal(d *domainMulticast, domain, cond, text string, sm sentMulticast, kept bool) {
	switch {
	case cond == "item-not-found" && (sm.listOnly || (!kept && d.lists)):
		// The server lost a list. The later stanzas naming it, resent
		// with the first refused, come here too and find nothing kept.
		s.m.multicastListMisses.Inc()
		s.log.Debug("the server does not have a recipient list; sending it in full next time", "domain", domain, "list", sm.list, "v", sm.v)
	case d.supported:
		s.log.Warn("the server refused a multicast stanza; sending copies one by one", "domain", domain, "condition", cond, "text", text)
		d.supported, d.lists = false, false
		d.retryAt = s.now().Add(discoRetry)
	}
}

// forgetList forgets the list sm named, if the version the server refused
// is still the one we think it has, so the next stanza sends it in full.
func (m *multicastState) forgetList(sm sentMulticast) {
	if sm.list == "" {
		return
	}
	if l := m.lists[sm.list]; l != nil && l.v == sm.v {
		delete(m.lists, sm.list)
	}
}

// resendAsCopies resends the refused stanza kept at k, then the later ones
// doomed with it (naming the same list version without its addresses), in
// the order they were sent, copy by copy, and forgets them.
func (s *Service) resendAsCopies(k int, sm sentMulticast) {
	m := &s.mcast
	for i := 0; i < keptMulticasts; i++ {
		j := (k + i) % keptMulticasts
		if j == m.next && i > 0 {
			break
		}
		r := &m.recent[j]
		if r.msg == nil || (i > 0 && !sm.dooms(r)) {
			continue
		}
		for _, to := range r.jids {
			s.send(copyTo(r.msg, to))
		}
		*r = sentMulticast{}
	}
}

// dooms reports whether the server will refuse later because it refused
// sm: later names sm's list version without carrying its addresses.
func (sm *sentMulticast) dooms(later *sentMulticast) bool {
	return sm.list != "" && later.listOnly && later.list == sm.list && later.v == sm.v
}

// sendMulticast queues msg (without a to) for jids, all at domain, as
// multicast stanzas of at most maxAddressBytes of addresses each. When the
// server keeps recipient lists and the group fits one stanza, the stanza
// names room's list at domain: with the addresses the first time the list
// has this content, without them afterwards.
func (s *Service) sendMulticast(msg *element, room, domain string, jids []string) {
	// Children of msg are shared with the per-copy path and history, so
	// the payload is referenced, never changed. It holds no addresses or
	// list of a client's: broadcastMessage left them out.
	payload := msg.Nodes
	m := &s.mcast
	size := 0
	for _, j := range jids {
		size += addressSize(j)
	}
	if d := m.domains[domain]; d != nil && d.lists && size <= maxAddressBytes {
		key := listKey(room, domain)
		l := m.lists[key]
		full := l == nil || !slices.Equal(l.jids, jids)
		if full {
			if l == nil {
				if len(m.lists) >= maxLists {
					m.dropOldestList()
				}
				if m.lists == nil {
					m.lists = map[string]*sentList{}
				}
				l = &sentList{}
				m.lists[key] = l
			}
			m.version++
			l.v, l.jids = m.version, jids
		}
		m.seq++
		l.seq = m.seq
		mc := copyTo(msg, domain)
		mc.Nodes = payload[:len(payload):len(payload)]
		if full {
			mc.Nodes = append(mc.Nodes, addressesOf(jids))
		} else {
			s.m.multicastListStanzas.Inc()
		}
		mc.Nodes = append(mc.Nodes, newElem(NSList, "list", "id", room, "v", strconv.FormatUint(l.v, 10)))
		s.send(mc)
		s.keepMulticast(sentMulticast{domain: domain, id: msg.attr("id"), from: msg.attr("from"), msg: msg, jids: jids, list: key, v: l.v, listOnly: !full})
		return
	}
	for len(jids) > 0 {
		size := 0
		n := 0
		for ; n < len(jids) && (n == 0 || size+addressSize(jids[n]) <= maxAddressBytes); n++ {
			size += addressSize(jids[n])
		}
		mc := copyTo(msg, domain)
		mc.Nodes = append(payload[:len(payload):len(payload)], addressesOf(jids[:n]))
		s.send(mc)
		s.keepMulticast(sentMulticast{domain: domain, id: msg.attr("id"), from: msg.attr("from"), msg: msg, jids: jids[:n]})
		jids = jids[n:]
	}
}

// addressesOf is the XEP-0033 element with a bcc address per JID.
func addressesOf(jids []string) *element {
	addrs := newElem(NSAddress, "addresses")
	addrs.Nodes = make([]any, 0, len(jids))
	for _, j := range jids {
		addrs.Nodes = append(addrs.Nodes, newElem(NSAddress, "address", "type", "bcc", "jid", j))
	}
	return addrs
}

// keepMulticast counts a multicast stanza just queued and keeps it for the
// fallback.
func (s *Service) keepMulticast(sm sentMulticast) {
	s.m.multicastStanzas.Inc()
	s.m.multicastCopies.Add(float64(len(sm.jids)))
	s.mcast.recent[s.mcast.next] = sm
	s.mcast.next = (s.mcast.next + 1) % keptMulticasts
}

// dropOldestList forgets the least recently used list; its next use sends
// the full list again, under a new version.
func (m *multicastState) dropOldestList() {
	oldest, key := uint64(0), ""
	for k, l := range m.lists {
		if key == "" || l.seq < oldest {
			oldest, key = l.seq, k
		}
	}
	delete(m.lists, key)
}

// addressSize is about what one <address/> takes on the wire: the markup
// (<address type='bcc' jid='…'/>) and the JID, with room for escapes.
func addressSize(jid string) int { return 32 + len(jid) + len(jid)/4 }

// copyTo returns msg's top element addressed to to, sharing msg's children.
func copyTo(msg *element, to string) *element {
	m := &element{Name: msg.Name, Attr: make([]xml.Attr, len(msg.Attr), len(msg.Attr)+1), Nodes: msg.Nodes[:len(msg.Nodes):len(msg.Nodes)]}
	copy(m.Attr, msg.Attr)
	m.Attr = append(m.Attr, xml.Attr{Name: xml.Name{Local: "to"}, Value: to})
	return m
}

// isMulticast reports whether e is a multicast stanza of ours (its last
// child is the addresses or list element sendMulticast adds). The writer's
// per-recipient grouping must not move stanzas across it: it stands for
// many recipients.
func isMulticast(e *element) bool {
	if e.Name.Local != "message" || len(e.Nodes) == 0 {
		return false
	}
	c, ok := e.Nodes[len(e.Nodes)-1].(*element)
	return ok && ((c.Name.Space == NSAddress && c.Name.Local == "addresses") || (c.Name.Space == NSList && c.Name.Local == "list"))
}
