package confinfo

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrVersion is wrapped by Apply's error for a partial document whose
// version is not the one after the local copy's: a notification was lost
// or reordered, and the watcher should refresh its subscription to get a
// full document (RFC 4575 section 4).
var ErrVersion = errors.New("out-of-sequence version")

// Apply is the watcher's side of RFC 4575 section 4: it returns the
// conference-info that results from receiving doc when local is the copy
// held so far. local is not changed.
//
//   - A full document replaces the copy, whatever its version.
//   - A deleted document (the conference is gone) returns a document with
//     only entity, version and state="deleted".
//   - A partial document needs local (a full copy) with the same entity and
//     a version exactly one less, or Apply fails with ErrVersion. Then keyed
//     elements (user and endpoint by entity, media by id, uri entries by
//     uri, available-media entries by label, sidebars by entity) are
//     deleted, replaced or merged as their state attribute says (absent
//     means full, the schema default); unkeyed children that the partial
//     element carries replace the local ones, and those it leaves out stay.
//     New users, endpoints and media are inserted in key order, which keeps
//     a copy built from State's documents identical to State.Full().
func Apply(local, doc *Info) (*Info, error) {
	if doc == nil {
		return nil, errors.New("confinfo: apply: nil document")
	}
	if !doc.State.valid() {
		return nil, fmt.Errorf("confinfo: apply: document state %q, want full, partial or deleted", string(doc.State))
	}
	switch doc.State {
	case StateDeleted:
		return &Info{Entity: doc.Entity, State: StateDeleted, Version: doc.Version}, nil
	case StatePartial:
	default:
		return doc.Clone(), nil
	}
	if local == nil {
		return nil, fmt.Errorf("confinfo: apply: partial document version %d without a full copy to apply it to: %w", doc.Version, ErrVersion)
	}
	if doc.Version != local.Version+1 {
		return nil, fmt.Errorf("confinfo: apply: partial document version %d, want %d: %w", doc.Version, local.Version+1, ErrVersion)
	}
	if doc.Entity != local.Entity {
		return nil, fmt.Errorf("confinfo: apply: partial document for %s, have %s", doc.Entity, local.Entity)
	}
	out := local.Clone()
	if err := mergeInfo(out, doc); err != nil {
		return nil, fmt.Errorf("confinfo: apply: %w", err)
	}
	out.Version = doc.Version
	return out, nil
}

func mergeInfo(d, p *Info) error {
	if len(p.Attrs) > 0 {
		d.Attrs = cloneAttrs(p.Attrs)
	}
	if p.Description != nil {
		if d.Description == nil {
			d.Description = &Description{}
		}
		mergeDesc(d.Description, p.Description)
	}
	if p.HostInfo != nil {
		if d.HostInfo == nil {
			d.HostInfo = &HostInfo{}
		}
		h, ph := d.HostInfo, p.HostInfo
		mergeCommon(&h.Attrs, &h.Ext, ph.Attrs, ph.Ext)
		replaceString(&h.DisplayText, ph.DisplayText)
		replaceString(&h.WebPage, ph.WebPage)
		h.URIs = mergeURIs(h.URIs, ph.URIs)
	}
	if p.ConferenceState != nil {
		if d.ConferenceState == nil {
			d.ConferenceState = &ConferenceState{}
		}
		c, pc := d.ConferenceState, p.ConferenceState
		mergeCommon(&c.Attrs, &c.Ext, pc.Attrs, pc.Ext)
		replacePtr(&c.UserCount, pc.UserCount)
		replacePtr(&c.Active, pc.Active)
		replacePtr(&c.Locked, pc.Locked)
	}
	if p.Users != nil {
		u, err := mergeUsers(d.Users, p.Users)
		if err != nil {
			return err
		}
		d.Users = u
	}
	d.SidebarsByRef = mergeURIs(d.SidebarsByRef, p.SidebarsByRef)
	if p.SidebarsByVal != nil {
		sb, err := mergeSidebars(d.SidebarsByVal, p.SidebarsByVal)
		if err != nil {
			return err
		}
		d.SidebarsByVal = sb
	}
	if len(p.Ext) > 0 {
		d.Ext = cloneElems(p.Ext)
	}
	return nil
}

// mergeCommon replaces the extension attributes and elements when the
// partial element carries some.
func mergeCommon(dAttrs *[]ExtAttr, dExt *[]Element, pAttrs []ExtAttr, pExt []Element) {
	if len(pAttrs) > 0 {
		*dAttrs = cloneAttrs(pAttrs)
	}
	if len(pExt) > 0 {
		*dExt = cloneElems(pExt)
	}
}

func replaceString[T ~string](d *T, p T) {
	if p != "" {
		*d = p
	}
}

func replacePtr[T any](d **T, p *T) {
	if p != nil {
		*d = clonePtr(p)
	}
}

func mergeDesc(d, p *Description) {
	mergeCommon(&d.Attrs, &d.Ext, p.Attrs, p.Ext)
	replaceString(&d.DisplayText, p.DisplayText)
	replaceString(&d.Subject, p.Subject)
	replaceString(&d.FreeText, p.FreeText)
	replaceString(&d.Keywords, p.Keywords)
	d.ConfURIs = mergeURIs(d.ConfURIs, p.ConfURIs)
	d.ServiceURIs = mergeURIs(d.ServiceURIs, p.ServiceURIs)
	replacePtr(&d.MaximumUserCount, p.MaximumUserCount)
	if pm := p.AvailableMedia; pm != nil {
		if d.AvailableMedia == nil {
			d.AvailableMedia = &MediaSet{}
		}
		dm := d.AvailableMedia
		mergeCommon(&dm.Attrs, &dm.Ext, pm.Attrs, pm.Ext)
		for _, e := range pm.Entries {
			if i := slices.IndexFunc(dm.Entries, func(x Medium) bool { return x.Label == e.Label }); i >= 0 {
				dm.Entries[i] = e.clone()
			} else {
				dm.Entries = append(dm.Entries, e.clone())
			}
		}
	}
}

// mergeURIs applies a uris-type element: full replaces, deleted removes,
// partial replaces or adds entries by URI.
func mergeURIs(d, p *URIs) *URIs {
	if p == nil {
		return d
	}
	switch p.State {
	case StateDeleted:
		return nil
	case StatePartial:
	default:
		out := p.clone()
		out.State = ""
		return out
	}
	if d == nil {
		d = &URIs{}
	}
	mergeCommon(&d.Attrs, &d.Ext, p.Attrs, p.Ext)
	for _, e := range p.Entries {
		if i := slices.IndexFunc(d.Entries, func(x URI) bool { return x.URI == e.URI }); i >= 0 {
			d.Entries[i] = e.clone()
		} else {
			d.Entries = append(d.Entries, e.clone())
		}
	}
	return d
}

// insertSorted inserts v before the first element whose key is greater, so
// a list kept in key order stays in key order.
func insertSorted[T any](s []T, v T, key func(*T) string) []T {
	k := key(&v)
	i := slices.IndexFunc(s, func(x T) bool { return cmp.Compare(key(&x), k) > 0 })
	if i < 0 {
		return append(s, v)
	}
	return slices.Insert(s, i, v)
}

func userKey(u *User) string         { return u.Entity }
func endpointKey(e *Endpoint) string { return e.Entity }
func mediaKey(m *Media) string       { return m.ID }

func mergeUsers(d, p *Users) (*Users, error) {
	switch p.State {
	case StateDeleted:
		return nil, nil
	case StatePartial:
	default:
		out := p.clone()
		out.State = ""
		return out, nil
	}
	if d == nil {
		d = &Users{}
	}
	mergeCommon(&d.Attrs, &d.Ext, p.Attrs, p.Ext)
	for k := range p.User {
		pu := &p.User[k]
		if pu.Entity == "" {
			return nil, errors.New("user without entity in partial users")
		}
		i := slices.IndexFunc(d.User, func(x User) bool { return x.Entity == pu.Entity })
		switch {
		case pu.State == StateDeleted:
			if i >= 0 {
				d.User = slices.Delete(d.User, i, i+1)
			}
		case pu.State == StatePartial && i >= 0:
			if err := mergeUser(&d.User[i], pu); err != nil {
				return nil, err
			}
		default:
			// A full user, or a partial one the copy lacks (taken
			// as it comes).
			u := pu.Clone()
			u.State = ""
			if i >= 0 {
				d.User[i] = u
			} else {
				d.User = insertSorted(d.User, u, userKey)
			}
		}
	}
	return d, nil
}

func mergeUser(d, p *User) error {
	mergeCommon(&d.Attrs, &d.Ext, p.Attrs, p.Ext)
	replaceString(&d.DisplayText, p.DisplayText)
	d.AssociatedAORs = mergeURIs(d.AssociatedAORs, p.AssociatedAORs)
	if p.Roles != nil {
		d.Roles = p.Roles.clone()
	}
	replaceString(&d.Languages, p.Languages)
	replaceString(&d.CascadedFocus, p.CascadedFocus)
	for k := range p.Endpoints {
		pe := &p.Endpoints[k]
		if pe.Entity == "" {
			return fmt.Errorf("user %s: endpoint without entity in a partial user", d.Entity)
		}
		i := slices.IndexFunc(d.Endpoints, func(x Endpoint) bool { return x.Entity == pe.Entity })
		switch {
		case pe.State == StateDeleted:
			if i >= 0 {
				d.Endpoints = slices.Delete(d.Endpoints, i, i+1)
			}
		case pe.State == StatePartial && i >= 0:
			mergeEndpoint(&d.Endpoints[i], pe)
		default:
			e := pe.Clone()
			e.State = ""
			if i >= 0 {
				d.Endpoints[i] = e
			} else {
				d.Endpoints = insertSorted(d.Endpoints, e, endpointKey)
			}
		}
	}
	return nil
}

func mergeEndpoint(d, p *Endpoint) {
	mergeCommon(&d.Attrs, &d.Ext, p.Attrs, p.Ext)
	replaceString(&d.DisplayText, p.DisplayText)
	if p.Referred != nil {
		d.Referred = p.Referred.clone()
	}
	replaceString(&d.Status, p.Status)
	replaceString(&d.JoiningMethod, p.JoiningMethod)
	if p.JoiningInfo != nil {
		d.JoiningInfo = p.JoiningInfo.clone()
	}
	replaceString(&d.DisconnectionMethod, p.DisconnectionMethod)
	if p.DisconnectionInfo != nil {
		d.DisconnectionInfo = p.DisconnectionInfo.clone()
	}
	for _, m := range p.Media {
		if i := slices.IndexFunc(d.Media, func(x Media) bool { return x.ID == m.ID }); i >= 0 {
			d.Media[i] = m.clone()
		} else {
			d.Media = insertSorted(d.Media, m.clone(), mediaKey)
		}
	}
	if p.CallInfo != nil {
		d.CallInfo = p.CallInfo.clone()
	}
}

func mergeSidebars(d, p *Sidebars) (*Sidebars, error) {
	switch p.State {
	case StateDeleted:
		return nil, nil
	case StatePartial:
	default:
		out := p.clone()
		out.State = ""
		return out, nil
	}
	if d == nil {
		d = &Sidebars{}
	}
	mergeCommon(&d.Attrs, &d.Ext, p.Attrs, p.Ext)
	for k := range p.Entries {
		pe := &p.Entries[k]
		i := slices.IndexFunc(d.Entries, func(x Info) bool { return x.Entity == pe.Entity })
		switch {
		case pe.State == StateDeleted:
			if i >= 0 {
				d.Entries = slices.Delete(d.Entries, i, i+1)
			}
		case pe.State == StatePartial && i >= 0:
			if err := mergeInfo(&d.Entries[i], pe); err != nil {
				return nil, fmt.Errorf("sidebar %s: %w", pe.Entity, err)
			}
		default:
			e := *pe.Clone()
			if i >= 0 {
				d.Entries[i] = e
			} else {
				d.Entries = append(d.Entries, e)
			}
		}
	}
	return d, nil
}
