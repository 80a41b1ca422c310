package confinfo

import (
	"reflect"
	"strings"
)

// diff builds the partial document that turns old into the current
// snapshot under the rules Apply implements (RFC 4575 section 4): keyed
// elements (user, endpoint) carry state="deleted" when gone, state="full"
// when new or when something in them was cleared, state="partial" with only
// the changed children otherwise. When a change cannot be expressed that
// way the whole document is returned instead.
func (s *State) diff(old *snapshot) *Info {
	cur := &s.cur
	doc := &Info{Entity: s.entity, State: StatePartial}
	if old.desc != cur.desc && !reflect.DeepEqual(old.desc, cur.desc) {
		if !descGrows(old.desc, cur.desc) {
			return s.fullLocked()
		}
		doc.Description = cur.desc.clone()
	}
	if old.host != cur.host && !reflect.DeepEqual(old.host, cur.host) {
		if !hostGrows(old.host, cur.host) {
			return s.fullLocked()
		}
		doc.HostInfo = cur.host.clone()
	}
	ocs, ncs := old.confState(), cur.confState()
	if !reflect.DeepEqual(ocs, ncs) {
		p := &ConferenceState{}
		if *ocs.UserCount != *ncs.UserCount {
			p.UserCount = ncs.UserCount
		}
		if !reflect.DeepEqual(ocs.Active, ncs.Active) {
			if ncs.Active == nil {
				return s.fullLocked()
			}
			p.Active = ncs.Active
		}
		if !reflect.DeepEqual(ocs.Locked, ncs.Locked) {
			if ncs.Locked == nil {
				return s.fullLocked()
			}
			p.Locked = ncs.Locked
		}
		doc.ConferenceState = p
	}
	if users := diffUsers(old.users, cur.users); users != nil {
		doc.Users = &Users{State: StatePartial, User: users}
	}
	return doc
}

// diffUsers walks two entity-sorted user lists and returns the user
// elements of a partial <users>.
func diffUsers(old, cur []*User) []User {
	var out []User
	walkSorted(len(old), len(cur),
		func(i, j int) int { return strings.Compare(old[i].Entity, cur[j].Entity) },
		func(i int) { out = append(out, User{Entity: old[i].Entity, State: StateDeleted}) },
		func(j int) {
			u := cur[j].Clone()
			u.State = StateFull
			out = append(out, u)
		},
		func(i, j int) {
			if old[i] == cur[j] {
				return
			}
			if u, changed := diffUser(old[i], cur[j]); changed {
				out = append(out, u)
			}
		})
	return out
}

// walkSorted steps through two lists sorted by the same key, as a merge
// does: gone sees entries only in the old list, added entries only in the
// current one, and both the pairs with equal keys. compare(i, j) compares
// old[i] with cur[j].
func walkSorted(nOld, nCur int, compare func(i, j int) int, gone, added func(int), both func(i, j int)) {
	i, j := 0, 0
	for i < nOld || j < nCur {
		var c int
		switch {
		case i == nOld:
			c = 1
		case j == nCur:
			c = -1
		default:
			c = compare(i, j)
		}
		switch {
		case c < 0:
			gone(i)
			i++
		case c > 0:
			added(j)
			j++
		default:
			both(i, j)
			i++
			j++
		}
	}
}

// diffUser returns the element that updates o to n: a partial user with
// the changed children, or the full user when a child was cleared.
func diffUser(o, n *User) (User, bool) {
	if reflect.DeepEqual(o, n) {
		return User{}, false
	}
	full := func() (User, bool) {
		u := n.Clone()
		u.State = StateFull
		return u, true
	}
	p := User{Entity: n.Entity, State: StatePartial}
	if !reflect.DeepEqual(o.Attrs, n.Attrs) {
		if len(n.Attrs) == 0 {
			return full()
		}
		p.Attrs = cloneAttrs(n.Attrs)
	}
	if !setString(&p.DisplayText, o.DisplayText, n.DisplayText) ||
		!setString(&p.Languages, o.Languages, n.Languages) ||
		!setString(&p.CascadedFocus, o.CascadedFocus, n.CascadedFocus) {
		return full()
	}
	if !reflect.DeepEqual(o.AssociatedAORs, n.AssociatedAORs) {
		if n.AssociatedAORs == nil {
			return full()
		}
		p.AssociatedAORs = n.AssociatedAORs.clone()
	}
	if !reflect.DeepEqual(o.Roles, n.Roles) {
		if n.Roles == nil {
			return full()
		}
		p.Roles = n.Roles.clone()
	}
	if !reflect.DeepEqual(o.Ext, n.Ext) {
		if len(n.Ext) == 0 {
			return full()
		}
		p.Ext = cloneElems(n.Ext)
	}
	p.Endpoints = diffEndpoints(o.Endpoints, n.Endpoints)
	return p, true
}

// setString sets *dst to n when it differs from o, and reports false when
// n clears a value a partial element cannot clear.
func setString[T ~string](dst *T, o, n T) bool {
	if o == n {
		return true
	}
	if n == "" {
		return false
	}
	*dst = n
	return true
}

func diffEndpoints(old, cur []Endpoint) []Endpoint {
	var out []Endpoint
	walkSorted(len(old), len(cur),
		func(i, j int) int { return strings.Compare(old[i].Entity, cur[j].Entity) },
		func(i int) { out = append(out, Endpoint{Entity: old[i].Entity, State: StateDeleted}) },
		func(j int) {
			e := cur[j].Clone()
			e.State = StateFull
			out = append(out, e)
		},
		func(i, j int) {
			if e, changed := diffEndpoint(&old[i], &cur[j]); changed {
				out = append(out, e)
			}
		})
	return out
}

func diffEndpoint(o, n *Endpoint) (Endpoint, bool) {
	if reflect.DeepEqual(o, n) {
		return Endpoint{}, false
	}
	full := func() (Endpoint, bool) {
		e := n.Clone()
		e.State = StateFull
		return e, true
	}
	p := Endpoint{Entity: n.Entity, State: StatePartial}
	if !reflect.DeepEqual(o.Attrs, n.Attrs) {
		if len(n.Attrs) == 0 {
			return full()
		}
		p.Attrs = cloneAttrs(n.Attrs)
	}
	if !setString(&p.DisplayText, o.DisplayText, n.DisplayText) ||
		!setString(&p.Status, o.Status, n.Status) ||
		!setString(&p.JoiningMethod, o.JoiningMethod, n.JoiningMethod) ||
		!setString(&p.DisconnectionMethod, o.DisconnectionMethod, n.DisconnectionMethod) ||
		!setPtr(&p.Referred, o.Referred, n.Referred) ||
		!setPtr(&p.JoiningInfo, o.JoiningInfo, n.JoiningInfo) ||
		!setPtr(&p.DisconnectionInfo, o.DisconnectionInfo, n.DisconnectionInfo) ||
		!setPtr(&p.CallInfo, o.CallInfo, n.CallInfo) {
		return full()
	}
	if !reflect.DeepEqual(o.Ext, n.Ext) {
		if len(n.Ext) == 0 {
			return full()
		}
		p.Ext = cloneElems(n.Ext)
	}
	// Media have no state attribute: a partial endpoint can only add or
	// replace streams, so a removed stream resends the endpoint.
	for _, om := range o.Media {
		if findMedia(n, om.ID) < 0 {
			return full()
		}
	}
	for k := range n.Media {
		if i := findMedia(o, n.Media[k].ID); i < 0 || !reflect.DeepEqual(o.Media[i], n.Media[k]) {
			p.Media = append(p.Media, n.Media[k])
		}
	}
	// p still shares memory with the snapshot; documents never do.
	return p.Clone(), true
}

// setPtr is setString for optional elements that are replaced whole.
func setPtr[T any](dst **T, o, n *T) bool {
	if reflect.DeepEqual(o, n) {
		return true
	}
	if n == nil {
		return false
	}
	v := *n
	*dst = &v
	return true
}

// descGrows reports whether sending n whole in a partial document turns o
// into n under Apply: nothing may be cleared, and available-media may only
// gain entries, appended after the old ones in the same order.
func descGrows(o, n *Description) bool {
	if n == nil {
		return o == nil
	}
	if o == nil {
		return true
	}
	if lost(o.DisplayText, n.DisplayText) || lost(o.Subject, n.Subject) ||
		lost(o.FreeText, n.FreeText) || lost(o.Keywords, n.Keywords) ||
		(o.ConfURIs != nil && n.ConfURIs == nil) ||
		(o.ServiceURIs != nil && n.ServiceURIs == nil) ||
		(o.MaximumUserCount != nil && n.MaximumUserCount == nil) ||
		(len(o.Attrs) > 0 && len(n.Attrs) == 0) ||
		(len(o.Ext) > 0 && len(n.Ext) == 0) {
		return false
	}
	if o.AvailableMedia == nil {
		return true
	}
	om, nm := o.AvailableMedia, n.AvailableMedia
	if nm == nil || len(nm.Entries) < len(om.Entries) ||
		(len(om.Attrs) > 0 && len(nm.Attrs) == 0) || (len(om.Ext) > 0 && len(nm.Ext) == 0) {
		return false
	}
	for i := range om.Entries {
		if om.Entries[i].Label != nm.Entries[i].Label {
			return false
		}
	}
	for i := range nm.Entries {
		for k := i + 1; k < len(nm.Entries); k++ {
			if nm.Entries[i].Label == nm.Entries[k].Label {
				return false
			}
		}
	}
	return true
}

// hostGrows is descGrows for host-info.
func hostGrows(o, n *HostInfo) bool {
	if n == nil {
		return o == nil
	}
	if o == nil {
		return true
	}
	return !lost(o.DisplayText, n.DisplayText) && !lost(o.WebPage, n.WebPage) &&
		!(o.URIs != nil && n.URIs == nil) &&
		!(len(o.Attrs) > 0 && len(n.Attrs) == 0) && !(len(o.Ext) > 0 && len(n.Ext) == 0)
}

func lost(o, n string) bool { return o != "" && n == "" }
