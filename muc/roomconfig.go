package muc

import (
	"slices"
	"strconv"
	"strings"

	"cusax.dev/bridge/store"
)

// audioURI is the room's SIP conference URI (RFC 7081 section 4), or "" when
// no SIP domain is configured.
func (s *Service) audioURI(r *room) string {
	if s.cfg.SIPDomain == "" {
		return ""
	}
	return "sip:" + r.name + "@" + s.cfg.SIPDomain
}

var roleOptions = []string{"moderator", "participant", "visitor"}

// configForm renders the muc#roomconfig form (XEP-0045 10.2) with the room's
// current values and the read-only audio-video-uri.
func (s *Service) configForm(r *room) *element {
	c := r.cfg
	whois := c.WhoIs
	if whois == "" {
		whois = "moderators"
	}
	allowpm := c.AllowPM
	if allowpm == "" {
		allowpm = "anyone"
	}
	fields := []formField{
		{v: "muc#roomconfig_roomname", typ: "text-single", label: "Room name", values: []string{c.Title}},
		{v: "muc#roomconfig_roomdesc", typ: "text-single", label: "Description", values: []string{c.Description}},
		{v: "muc#roomconfig_persistentroom", typ: "boolean", label: "Persistent", values: boolValue(c.Persistent)},
		{v: "muc#roomconfig_publicroom", typ: "boolean", label: "Listed in the directory", values: boolValue(c.Public)},
		{v: "muc#roomconfig_moderatedroom", typ: "boolean", label: "Moderated", values: boolValue(c.Moderated)},
		{v: "muc#roomconfig_membersonly", typ: "boolean", label: "Members only", values: boolValue(c.MembersOnly)},
		{v: "muc#roomconfig_passwordprotectedroom", typ: "boolean", label: "Password protected", values: boolValue(c.PasswordProtected)},
		{v: "muc#roomconfig_roomsecret", typ: "text-private", label: "Password", values: []string{c.Password}},
		{v: "muc#roomconfig_whois", typ: "list-single", label: "Who may see real JIDs", values: []string{whois}, options: []string{"moderators", "anyone"}},
		{v: "muc#roomconfig_maxusers", typ: "text-single", label: "Maximum occupants (0: no limit)", values: []string{strconv.Itoa(c.MaxUsers)}},
		{v: "muc#roomconfig_changesubject", typ: "boolean", label: "Occupants may change the subject", values: boolValue(c.ChangeSubject)},
		{v: "muc#roomconfig_allowpm", typ: "list-single", label: "Who may send private messages", values: []string{allowpm}, options: []string{"anyone", "participants", "moderators", "none"}},
		{v: "muc#roomconfig_allowinvites", typ: "boolean", label: "Occupants may invite", values: boolValue(c.AllowInvites)},
		{v: "muc#roomconfig_getmemberlist", typ: "list-multi", label: "Roles that may read the member list", values: c.GetMemberList, options: roleOptions},
		{v: "muc#roomconfig_presencebroadcast", typ: "list-multi", label: "Roles whose presence is broadcast", values: c.PresenceBroadcast, options: roleOptions},
		{v: "muc#roomconfig_historylength", typ: "text-single", label: "Messages of history", values: []string{strconv.Itoa(c.HistoryLength)}},
	}
	if u := s.audioURI(r); u != "" {
		fields = append(fields, formField{v: FieldAudioVideoURI, typ: "fixed", label: "Audio conference", values: []string{u}})
	}
	return formElem("form", nsRoomConfig, fields)
}

// applyConfigForm returns the configuration a submitted form asks for, or
// the error that makes the whole submission fail (nothing is half-applied).
// Fields not submitted keep their value, as XEP-0045 10.2 allows.
func (s *Service) applyConfigForm(cur store.RoomConfig, vals map[string][]string) (store.RoomConfig, *stanzaError) {
	c := cur
	c.GetMemberList = slices.Clone(cur.GetMemberList)
	c.PresenceBroadcast = slices.Clone(cur.PresenceBroadcast)
	if ft, ok := vals["FORM_TYPE"]; ok {
		if v, _ := single(ft); strings.TrimSpace(v) != nsRoomConfig {
			return c, errBadRequest("FORM_TYPE must be " + nsRoomConfig)
		}
	}
	bad := func(field, why string) *stanzaError {
		return errNotAcceptable("field " + field + ": " + why)
	}
	for k, vs := range vals {
		v, ok := single(vs)
		switch k {
		case "FORM_TYPE", FieldAudioVideoURI:
			continue
		case "muc#roomconfig_getmemberlist", "muc#roomconfig_presencebroadcast":
			var roles []string
			for _, r := range vs {
				if !slices.Contains(roleOptions, r) {
					return c, bad(k, "unknown role "+quote(r))
				}
				if !slices.Contains(roles, r) {
					roles = append(roles, r)
				}
			}
			if k == "muc#roomconfig_getmemberlist" {
				c.GetMemberList = roles
			} else {
				c.PresenceBroadcast = roles
			}
			continue
		}
		if !ok {
			return c, bad(k, "expected a single value")
		}
		var b, isBool bool
		switch k {
		case "muc#roomconfig_persistentroom", "muc#roomconfig_publicroom", "muc#roomconfig_moderatedroom",
			"muc#roomconfig_membersonly", "muc#roomconfig_passwordprotectedroom", "muc#roomconfig_changesubject",
			"muc#roomconfig_allowinvites":
			b, isBool = parseBool(v)
			if !isBool {
				return c, bad(k, "expected a boolean, got "+quote(v))
			}
		}
		switch k {
		case "muc#roomconfig_roomname":
			if len(v) > 256 {
				return c, bad(k, "longer than 256 bytes")
			}
			c.Title = v
		case "muc#roomconfig_roomdesc":
			if len(v) > 2048 {
				return c, bad(k, "longer than 2048 bytes")
			}
			c.Description = v
		case "muc#roomconfig_persistentroom":
			c.Persistent = b
		case "muc#roomconfig_publicroom":
			c.Public = b
		case "muc#roomconfig_moderatedroom":
			c.Moderated = b
		case "muc#roomconfig_membersonly":
			c.MembersOnly = b
		case "muc#roomconfig_passwordprotectedroom":
			c.PasswordProtected = b
		case "muc#roomconfig_changesubject":
			c.ChangeSubject = b
		case "muc#roomconfig_allowinvites":
			c.AllowInvites = b
		case "muc#roomconfig_roomsecret":
			if len(v) > 256 {
				return c, bad(k, "longer than 256 bytes")
			}
			c.Password = v
		case "muc#roomconfig_whois":
			if v != "moderators" && v != "anyone" {
				return c, bad(k, "expected moderators or anyone, got "+quote(v))
			}
			c.WhoIs = v
		case "muc#roomconfig_allowpm":
			if v != "anyone" && v != "participants" && v != "moderators" && v != "none" {
				return c, bad(k, "expected anyone, participants, moderators or none, got "+quote(v))
			}
			c.AllowPM = v
		case "muc#roomconfig_maxusers":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if v == "none" || v == "" {
				n, err = 0, nil
			}
			if err != nil || n < 0 || n > 100000 {
				return c, bad(k, "expected a number from 0 to 100000, got "+quote(v))
			}
			c.MaxUsers = n
		case "muc#roomconfig_historylength":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return c, bad(k, "expected a non-negative number, got "+quote(v))
			}
			c.HistoryLength = min(n, s.cfg.MaxHistory)
		default:
			// Unknown fields are ignored: clients copy forms from other
			// services, and refusing them helps nobody.
		}
	}
	if c.PasswordProtected && c.Password == "" {
		return c, bad("muc#roomconfig_roomsecret", "a password-protected room needs a password")
	}
	return c, nil
}
