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
		{v: FieldEncryptedMedia, typ: "boolean", label: "Encrypted audio only (SRTP over TLS, or the browser)", values: boolValue(c.EncryptedMediaOnly)},
		{v: FieldJoinTones, typ: "boolean", label: "Tones in the audio when someone joins or leaves", values: boolValue(!c.NoJoinTones)},
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
	if serr := checkFormType(vals); serr != nil {
		return c, serr
	}
	for k, vs := range vals {
		if serr := s.applyConfigField(&c, k, vs); serr != nil {
			return c, serr
		}
	}
	if c.PasswordProtected && c.Password == "" {
		return c, badField("muc#roomconfig_roomsecret", "a password-protected room needs a password")
	}
	return c, nil
}

// checkFormType refuses a form that names another FORM_TYPE; a form
// without one is taken as a room configuration.
func checkFormType(vals map[string][]string) *stanzaError {
	ft, ok := vals["FORM_TYPE"]
	if !ok {
		return nil
	}
	if v, _ := single(ft); strings.TrimSpace(v) != nsRoomConfig {
		return errBadRequest("FORM_TYPE must be " + nsRoomConfig)
	}
	return nil
}

// badField is the not-acceptable error naming the field a submission
// failed on.
func badField(field, why string) *stanzaError {
	return errNotAcceptable("field " + field + ": " + why)
}

// applyConfigField applies one submitted field to c. Role lists take many
// values; every other field, known or not, must carry at most one.
func (s *Service) applyConfigField(c *store.RoomConfig, k string, vs []string) *stanzaError {
	switch k {
	case "FORM_TYPE", FieldAudioVideoURI:
		return nil
	case "muc#roomconfig_getmemberlist":
		return setRoles(&c.GetMemberList, k, vs)
	case "muc#roomconfig_presencebroadcast":
		return setRoles(&c.PresenceBroadcast, k, vs)
	}
	v, ok := single(vs)
	if !ok {
		return badField(k, "expected a single value")
	}
	if dst := boolField(c, k); dst != nil {
		return setBool(dst, k, v)
	}
	if k == FieldJoinTones {
		var on bool
		if serr := setBool(&on, k, v); serr != nil {
			return serr
		}
		c.NoJoinTones = !on
		return nil
	}
	switch k {
	case "muc#roomconfig_roomname":
		return setText(&c.Title, k, v, 256)
	case "muc#roomconfig_roomdesc":
		return setText(&c.Description, k, v, 2048)
	case "muc#roomconfig_roomsecret":
		return setText(&c.Password, k, v, 256)
	case "muc#roomconfig_whois":
		return setChoice(&c.WhoIs, k, v, "moderators", "anyone")
	case "muc#roomconfig_allowpm":
		return setChoice(&c.AllowPM, k, v, "anyone", "participants", "moderators", "none")
	case "muc#roomconfig_maxusers":
		return setMaxUsers(&c.MaxUsers, k, v)
	case "muc#roomconfig_historylength":
		return setHistoryLength(&c.HistoryLength, k, v, s.cfg.MaxHistory)
	}
	// Unknown fields are ignored: clients copy forms from other services,
	// and refusing them helps nobody.
	return nil
}

// boolField is where the boolean field k is kept in c, or nil when k is
// not a boolean field.
func boolField(c *store.RoomConfig, k string) *bool {
	switch k {
	case "muc#roomconfig_persistentroom":
		return &c.Persistent
	case "muc#roomconfig_publicroom":
		return &c.Public
	case "muc#roomconfig_moderatedroom":
		return &c.Moderated
	case "muc#roomconfig_membersonly":
		return &c.MembersOnly
	case "muc#roomconfig_passwordprotectedroom":
		return &c.PasswordProtected
	case "muc#roomconfig_changesubject":
		return &c.ChangeSubject
	case "muc#roomconfig_allowinvites":
		return &c.AllowInvites
	case FieldEncryptedMedia:
		return &c.EncryptedMediaOnly
	}
	return nil
}

// setRoles keeps the known roles of a list-multi field, each once, in the
// order submitted.
func setRoles(dst *[]string, k string, vs []string) *stanzaError {
	var roles []string
	for _, r := range vs {
		if !slices.Contains(roleOptions, r) {
			return badField(k, "unknown role "+quote(r))
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	*dst = roles
	return nil
}

func setBool(dst *bool, k, v string) *stanzaError {
	b, ok := parseBool(v)
	if !ok {
		return badField(k, "expected a boolean, got "+quote(v))
	}
	*dst = b
	return nil
}

func setText(dst *string, k, v string, maxBytes int) *stanzaError {
	if len(v) > maxBytes {
		return badField(k, "longer than "+strconv.Itoa(maxBytes)+" bytes")
	}
	*dst = v
	return nil
}

// setChoice accepts one of a list-single field's options.
func setChoice(dst *string, k, v string, options ...string) *stanzaError {
	if !slices.Contains(options, v) {
		return badField(k, "expected "+orList(options)+", got "+quote(v))
	}
	*dst = v
	return nil
}

// orList writes options as "a, b or c".
func orList(options []string) string {
	last := len(options) - 1
	if last <= 0 {
		return strings.Join(options, "")
	}
	return strings.Join(options[:last], ", ") + " or " + options[last]
}

// setMaxUsers takes "none" or an empty value as no limit.
func setMaxUsers(dst *int, k, v string) *stanzaError {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if v == "none" || v == "" {
		n, err = 0, nil
	}
	if err != nil || n < 0 || n > 100000 {
		return badField(k, "expected a number from 0 to 100000, got "+quote(v))
	}
	*dst = n
	return nil
}

// setHistoryLength caps the room's history at the service's maximum.
func setHistoryLength(dst *int, k, v string, maxHistory int) *stanzaError {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return badField(k, "expected a non-negative number, got "+quote(v))
	}
	*dst = min(n, maxHistory)
	return nil
}
