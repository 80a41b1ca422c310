package muc

import (
	"encoding/xml"
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
// copies go one by one, as before. See docs/design/05_muc.md.

// NSAddress is XEP-0033's namespace, which a server advertises in its
// disco#info when it accepts multicast from the component.
const NSAddress = "http://jabber.org/protocol/address"

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
	// resent copy by copy if the server refuses them.
	keptMulticasts = 32
)

// domainMulticast is what the service knows of one recipient domain.
type domainMulticast struct {
	supported bool
	askID     string    // the disco#info query in flight, if any
	askedAt   time.Time // when it was sent
	retryAt   time.Time // after a timeout: when to ask again
}

// sentMulticast is a recent multicast stanza, kept for the fallback.
type sentMulticast struct {
	domain, id string
	msg        *element
}

// multicastState is the per-link-session knowledge, guarded by Service.mu
// and forgotten when the link drops (the server may come back without the
// module).
type multicastState struct {
	domains map[string]*domainMulticast
	pending map[string]string // our disco#info id → domain
	recent  [keptMulticasts]sentMulticast
	next    int
}

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
			}
		}
	}
	s.log.Info("recipient domain multicast support", "domain", domain, "multicast", d.supported)
	return true
}

// multicastBounce handles an error reply from a domain to one of our
// multicast stanzas (the server refused it: too many addresses, a module
// unloaded, …). The domain is served copy by copy from then on (until it
// is asked again after discoRetry), and the refused stanza, if still kept,
// is resent that way. It reports false for errors from anyone else, which
// are bounces from occupants. Called under s.mu.
func (s *Service) multicastBounce(in *element, from jid.JID) bool {
	m := &s.mcast
	domain := from.String()
	d := m.domains[domain]
	if d == nil || from.Localpart() != "" || from.Resourcepart() != "" {
		return false
	}
	if d.supported {
		cond, text := stanzaErrorOf(in)
		s.log.Warn("the server refused a multicast stanza; sending copies one by one", "domain", domain, "condition", cond, "text", text)
		d.supported = false
		d.retryAt = s.now().Add(discoRetry)
	}
	s.m.multicastRefused.Inc()
	id := in.attr("id")
	for i := range m.recent {
		k := (m.next - 1 - i + 2*keptMulticasts) % keptMulticasts
		sm := m.recent[k]
		if sm.msg == nil || sm.domain != domain || sm.id != id {
			continue
		}
		m.recent[k] = sentMulticast{}
		top, jids := splitMulticast(sm.msg)
		for _, j := range jids {
			s.send(copyTo(top, j))
		}
		break
	}
	return true
}

// sendMulticast queues msg (without a to) for jids, all at domain, as
// multicast stanzas of at most maxAddressBytes of addresses each.
func (s *Service) sendMulticast(msg *element, domain string, jids []string) {
	// Children of msg are shared with the per-copy path and history, so
	// the payload is referenced, never changed. An addresses element a
	// client put in its message is left out: the server must read ours.
	payload := make([]any, 0, len(msg.Nodes)+1)
	for _, n := range msg.Nodes {
		if c, ok := n.(*element); ok && c.Name.Space == NSAddress {
			continue
		}
		payload = append(payload, n)
	}
	for len(jids) > 0 {
		addrs := newElem(NSAddress, "addresses")
		size := 0
		n := 0
		for ; n < len(jids) && (n == 0 || size+addressSize(jids[n]) <= maxAddressBytes); n++ {
			size += addressSize(jids[n])
			addrs.Nodes = append(addrs.Nodes, newElem(NSAddress, "address", "type", "bcc", "jid", jids[n]))
		}
		mc := copyTo(msg, domain)
		mc.Nodes = append(payload[:len(payload):len(payload)], addrs)
		s.send(mc)
		s.m.multicastStanzas.Inc()
		s.m.multicastCopies.Add(float64(n))
		s.mcast.recent[s.mcast.next] = sentMulticast{domain: domain, id: msg.attr("id"), msg: mc}
		s.mcast.next = (s.mcast.next + 1) % keptMulticasts
		jids = jids[n:]
	}
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

// splitMulticast takes a multicast stanza apart: its top without to or
// addresses, and the bcc JIDs.
func splitMulticast(mc *element) (*element, []string) {
	top := &element{Name: mc.Name}
	for _, a := range mc.Attr {
		if a.Name.Local != "to" || a.Name.Space != "" {
			top.Attr = append(top.Attr, a)
		}
	}
	var jids []string
	for _, n := range mc.Nodes {
		if c, ok := n.(*element); ok && c.Name.Space == NSAddress && c.Name.Local == "addresses" {
			for _, a := range c.children() {
				jids = append(jids, a.attr("jid"))
			}
			continue
		}
		top.Nodes = append(top.Nodes, n)
	}
	return top, jids
}

// isMulticast reports whether e is a multicast stanza of ours (its last
// child is the addresses element sendMulticast adds). The writer's
// per-recipient grouping must not move stanzas across it: it stands for
// many recipients.
func isMulticast(e *element) bool {
	if e.Name.Local != "message" || len(e.Nodes) == 0 {
		return false
	}
	c, ok := e.Nodes[len(e.Nodes)-1].(*element)
	return ok && c.Name.Space == NSAddress && c.Name.Local == "addresses"
}
