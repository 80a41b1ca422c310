package muc

import (
	"sort"
	"strconv"
)

// serviceInfo is disco#info on the service (XEP-0045 6.1).
func (s *Service) serviceInfo() *element {
	q := newElem(nsDiscoInfo, "query")
	q.add(newElem(nsDiscoInfo, "identity", "category", "conference", "type", "text", "name", s.cfg.Name))
	for _, f := range []string{nsDiscoInfo, nsDiscoItems, NSMUC, nsPing, nsStanzaID, nsOccupantID} {
		q.add(newElem(nsDiscoInfo, "feature", "var", f))
	}
	return q
}

// serviceItems lists public rooms (XEP-0045 6.3); hidden rooms stay out.
func (s *Service) serviceItems() *element {
	q := newElem(nsDiscoItems, "query")
	names := make([]string, 0, len(s.rooms))
	for n, r := range s.rooms {
		if r.cfg.Public {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		r := s.rooms[n]
		name := r.cfg.Title
		if name == "" {
			name = n
		}
		q.add(newElem(nsDiscoItems, "item", "jid", r.bare, "name", name))
	}
	return q
}

// roomInfo is disco#info on a room (XEP-0045 6.4) with the XEP-0128
// muc#roominfo form, whose audio-video-uri points at the room's SIP
// conference (RFC 7081 section 4).
func (s *Service) roomInfo(r *room) *element {
	name := r.cfg.Title
	if name == "" {
		name = r.name
	}
	q := newElem(nsDiscoInfo, "query")
	q.add(newElem(nsDiscoInfo, "identity", "category", "conference", "type", "text", "name", name))
	pick := func(b bool, yes, no string) string {
		if b {
			return yes
		}
		return no
	}
	for _, f := range []string{
		NSMUC, nsDiscoInfo, nsDiscoItems, nsStanzaID, nsOccupantID, nsPing, "http://jabber.org/protocol/muc#stable_id",
		"http://jabber.org/protocol/muc#self-ping-optimization",
		pick(r.cfg.Public, "muc_public", "muc_hidden"),
		pick(r.cfg.Persistent, "muc_persistent", "muc_temporary"),
		pick(r.cfg.MembersOnly, "muc_membersonly", "muc_open"),
		pick(r.cfg.Moderated, "muc_moderated", "muc_unmoderated"),
		pick(r.nonAnonymous(), "muc_nonanonymous", "muc_semianonymous"),
		pick(r.cfg.PasswordProtected, "muc_passwordprotected", "muc_unsecured"),
	} {
		q.add(newElem(nsDiscoInfo, "feature", "var", f))
	}
	fields := []formField{
		{v: "muc#roominfo_description", typ: "text-single", label: "Description", values: []string{r.cfg.Description}},
		{v: "muc#roominfo_subject", typ: "text-single", label: "Subject", values: []string{r.subject}},
		{v: "muc#roominfo_occupants", typ: "text-single", label: "Number of occupants", values: []string{strconv.Itoa(len(r.occ))}},
		{v: "muc#roomconfig_roomname", typ: "text-single", label: "Name", values: []string{r.cfg.Title}},
		{v: "muc#roominfo_changesubject", typ: "boolean", label: "Occupants may change the subject", values: boolValue(r.cfg.ChangeSubject)},
	}
	if u := s.audioURI(r); u != "" {
		fields = append(fields, formField{v: FieldAudioVideoURI, typ: "text-single", label: "Audio conference", values: []string{u}})
		fields = append(fields, formField{v: FieldMediaSecurity, typ: "text-single", label: "Audio encryption", values: []string{s.mediaSecurity(r)}})
	}
	q.add(formElem("result", nsRoomInfo, fields))
	return q
}

// phoneLegDisco answers disco#info or disco#items on a phone leg's occupant
// JID for it, since no client stands behind it: identity client/phone
// (XEP-0030 registry), the disco features, and no items. A request for a
// node gets the same answer with the node echoed.
func phoneLegDisco(q *element) *element {
	out := newElem(q.Name.Space, "query", "node", q.attr("node"))
	if q.Name.Space == nsDiscoInfo {
		out.add(newElem(nsDiscoInfo, "identity", "category", "client", "type", "phone"))
		for _, f := range []string{nsDiscoInfo, nsDiscoItems, NSBridge} {
			out.add(newElem(nsDiscoInfo, "feature", "var", f))
		}
	}
	return out
}

// mediaSecurity summarises how the room's audio legs are protected, from
// the security level each leg's <phone/> carries (set by sync): every leg
// encrypted, some, none, or no legs at all. Call with s.mu held.
func (s *Service) mediaSecurity(r *room) string {
	var legs, encrypted int
	for _, o := range r.occ {
		media := ""
		switch {
		case o.phone != nil:
			media = o.phone.Media
		case o.inAudio != nil:
			media = o.inAudio.attr("media")
		default:
			continue
		}
		legs++
		if media != "" && media != "rtp" {
			encrypted++
		}
	}
	switch {
	case legs == 0:
		return "none"
	case encrypted == legs:
		return "encrypted"
	case encrypted == 0:
		return "unencrypted"
	}
	return "mixed"
}
