package confinfo

// Clone returns a deep copy of doc that shares no memory with it.
func (doc *Info) Clone() *Info {
	if doc == nil {
		return nil
	}
	out := *doc
	out.Attrs = cloneAttrs(doc.Attrs)
	out.Description = doc.Description.clone()
	out.HostInfo = doc.HostInfo.clone()
	out.ConferenceState = doc.ConferenceState.clone()
	out.Users = doc.Users.clone()
	out.SidebarsByRef = doc.SidebarsByRef.clone()
	out.SidebarsByVal = doc.SidebarsByVal.clone()
	out.Ext = cloneElems(doc.Ext)
	return &out
}

func (d *Description) clone() *Description {
	if d == nil {
		return nil
	}
	out := *d
	out.Attrs = cloneAttrs(d.Attrs)
	out.ConfURIs = d.ConfURIs.clone()
	out.ServiceURIs = d.ServiceURIs.clone()
	out.MaximumUserCount = clonePtr(d.MaximumUserCount)
	out.AvailableMedia = d.AvailableMedia.clone()
	out.Ext = cloneElems(d.Ext)
	return &out
}

func (u *URIs) clone() *URIs {
	if u == nil {
		return nil
	}
	out := *u
	out.Attrs = cloneAttrs(u.Attrs)
	if u.Entries != nil {
		out.Entries = make([]URI, len(u.Entries))
		for i := range u.Entries {
			out.Entries[i] = u.Entries[i].clone()
		}
	}
	out.Ext = cloneElems(u.Ext)
	return &out
}

func (u URI) clone() URI {
	u.Attrs = cloneAttrs(u.Attrs)
	u.Modified = u.Modified.clone()
	u.Ext = cloneElems(u.Ext)
	return u
}

func (e *Execution) clone() *Execution {
	if e == nil {
		return nil
	}
	out := *e
	out.Attrs = cloneAttrs(e.Attrs)
	out.Ext = cloneElems(e.Ext)
	return &out
}

func (m *MediaSet) clone() *MediaSet {
	if m == nil {
		return nil
	}
	out := *m
	out.Attrs = cloneAttrs(m.Attrs)
	if m.Entries != nil {
		out.Entries = make([]Medium, len(m.Entries))
		for i, e := range m.Entries {
			out.Entries[i] = e.clone()
		}
	}
	out.Ext = cloneElems(m.Ext)
	return &out
}

func (m Medium) clone() Medium {
	m.Attrs = cloneAttrs(m.Attrs)
	m.Ext = cloneElems(m.Ext)
	return m
}

func (h *HostInfo) clone() *HostInfo {
	if h == nil {
		return nil
	}
	out := *h
	out.Attrs = cloneAttrs(h.Attrs)
	out.URIs = h.URIs.clone()
	out.Ext = cloneElems(h.Ext)
	return &out
}

func (c *ConferenceState) clone() *ConferenceState {
	if c == nil {
		return nil
	}
	out := *c
	out.Attrs = cloneAttrs(c.Attrs)
	out.UserCount = clonePtr(c.UserCount)
	out.Active = clonePtr(c.Active)
	out.Locked = clonePtr(c.Locked)
	out.Ext = cloneElems(c.Ext)
	return &out
}

func (u *Users) clone() *Users {
	if u == nil {
		return nil
	}
	out := *u
	out.Attrs = cloneAttrs(u.Attrs)
	if u.User != nil {
		out.User = make([]User, len(u.User))
		for i := range u.User {
			out.User[i] = u.User[i].Clone()
		}
	}
	out.Ext = cloneElems(u.Ext)
	return &out
}

// Clone returns a deep copy of u.
func (u User) Clone() User {
	u.Attrs = cloneAttrs(u.Attrs)
	u.AssociatedAORs = u.AssociatedAORs.clone()
	u.Roles = u.Roles.clone()
	if u.Endpoints != nil {
		eps := make([]Endpoint, len(u.Endpoints))
		for i := range u.Endpoints {
			eps[i] = u.Endpoints[i].Clone()
		}
		u.Endpoints = eps
	}
	u.Ext = cloneElems(u.Ext)
	return u
}

func (r *Roles) clone() *Roles {
	if r == nil {
		return nil
	}
	out := *r
	out.Attrs = cloneAttrs(r.Attrs)
	if r.Entries != nil {
		out.Entries = append([]string(nil), r.Entries...)
	}
	out.Ext = cloneElems(r.Ext)
	return &out
}

// Clone returns a deep copy of e.
func (e Endpoint) Clone() Endpoint {
	e.Attrs = cloneAttrs(e.Attrs)
	e.Referred = e.Referred.clone()
	e.JoiningInfo = e.JoiningInfo.clone()
	e.DisconnectionInfo = e.DisconnectionInfo.clone()
	if e.Media != nil {
		ms := make([]Media, len(e.Media))
		for i := range e.Media {
			ms[i] = e.Media[i].clone()
		}
		e.Media = ms
	}
	e.CallInfo = e.CallInfo.clone()
	e.Ext = cloneElems(e.Ext)
	return e
}

func (m Media) clone() Media {
	m.Attrs = cloneAttrs(m.Attrs)
	m.Ext = cloneElems(m.Ext)
	return m
}

func (c *CallInfo) clone() *CallInfo {
	if c == nil {
		return nil
	}
	out := *c
	out.Attrs = cloneAttrs(c.Attrs)
	if c.SIP != nil {
		s := *c.SIP
		s.Attrs = cloneAttrs(s.Attrs)
		s.Ext = cloneElems(s.Ext)
		out.SIP = &s
	}
	out.Ext = cloneElems(c.Ext)
	return &out
}

func (s *Sidebars) clone() *Sidebars {
	if s == nil {
		return nil
	}
	out := *s
	out.Attrs = cloneAttrs(s.Attrs)
	if s.Entries != nil {
		out.Entries = make([]Info, len(s.Entries))
		for i := range s.Entries {
			out.Entries[i] = *s.Entries[i].Clone()
		}
	}
	out.Ext = cloneElems(s.Ext)
	return &out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
