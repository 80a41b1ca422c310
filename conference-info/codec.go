package confinfo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// xmlHeader starts every encoded document; RFC 4575 documents are UTF-8.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// rootLocal is the local name of the root element.
const rootLocal = "conference-info"

// Encode writes doc as a conference-info document: UTF-8, the
// conference-info namespace declared once as the default namespace of the
// root, no indentation. The output depends only on doc, so equal documents
// encode to equal bytes.
func Encode(doc *Info) ([]byte, error) {
	var b bytes.Buffer
	if err := EncodeTo(&b, doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// EncodeTo is Encode writing to w.
func EncodeTo(w io.Writer, doc *Info) error {
	if doc == nil {
		return errors.New("confinfo: encode: nil document")
	}
	if _, err := io.WriteString(w, xmlHeader); err != nil {
		return fmt.Errorf("confinfo: encode: %w", err)
	}
	enc := xml.NewEncoder(w)
	if err := enc.EncodeElement(doc, xml.StartElement{Name: xml.Name{Space: Namespace, Local: rootLocal}}); err != nil {
		return fmt.Errorf("confinfo: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("confinfo: encode: %w", err)
	}
	return nil
}

// Limits bound what Decode accepts from the network. Zero fields take the
// defaults DefaultMaxBytes, DefaultMaxElements and DefaultMaxDepth.
type Limits struct {
	// MaxBytes is the largest document accepted.
	MaxBytes int
	// MaxElements is the most elements a document may hold.
	MaxElements int
	// MaxDepth is the deepest nesting of elements (the root is depth 1).
	MaxDepth int
}

// The default Limits fit a conference of about 5,000 phone participants
// (a 1,000-user full document is about 420 kB and 14,000 elements) while
// keeping the memory a hostile document can cost to some 50 MB.
const (
	DefaultMaxBytes    = 2 << 20
	DefaultMaxElements = 100_000
	DefaultMaxDepth    = 32
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// ErrLimit is wrapped by the errors of Decode when a document exceeds its
// Limits.
var ErrLimit = errors.New("limit exceeded")

// Decode parses a conference-info document under the default Limits.
func Decode(b []byte) (*Info, error) {
	return DecodeLimited(b, Limits{})
}

// DecodeLimited parses a conference-info document from untrusted input.
// The root must be <conference-info> in the conference-info namespace;
// elements and attributes of other namespaces are kept in Ext and Attrs.
// Every "state" attribute must be full, partial or deleted.
func DecodeLimited(b []byte, lim Limits) (*Info, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxBytes {
		return nil, fmt.Errorf("confinfo: decode: document of %d bytes, want at most %d: %w", len(b), lim.MaxBytes, ErrLimit)
	}
	raw := xml.NewDecoder(bytes.NewReader(b))
	f := &nsFilter{src: raw, lim: lim}
	d := xml.NewTokenDecoder(f)
	var start xml.StartElement
	for {
		t, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("confinfo: decode: no root element, want <conference-info>")
			}
			return nil, fmt.Errorf("confinfo: decode: %w", err)
		}
		if se, ok := t.(xml.StartElement); ok {
			start = se
			break
		}
		if cd, ok := t.(xml.CharData); ok && len(bytes.TrimSpace(cd)) > 0 {
			return nil, errors.New("confinfo: decode: text before the root element")
		}
	}
	if f.rootName != (xml.Name{Space: Namespace, Local: rootLocal}) {
		return nil, fmt.Errorf("confinfo: decode: root element {%s}%s, want {%s}conference-info", f.rootName.Space, f.rootName.Local, Namespace)
	}
	doc := new(Info)
	if err := d.DecodeElement(doc, &start); err != nil {
		return nil, fmt.Errorf("confinfo: decode: %w", err)
	}
	// Anything after the root but comments and white space is an error.
	for {
		t, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("confinfo: decode: after the root element: %w", err)
		}
		switch t := t.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("confinfo: decode: text after the root element")
			}
		case xml.StartElement:
			return nil, errors.New("confinfo: decode: second root element")
		}
	}
	if err := checkStates(doc); err != nil {
		return nil, fmt.Errorf("confinfo: decode: %w", err)
	}
	return doc, nil
}

// nsFilter sits between the raw decoder and the struct decoder: it counts
// elements and depth against the limits, drops namespace declarations and
// marks foreign elements and attributes (see foreignMark), so that only
// conference-info elements and unqualified attributes fill struct fields.
type nsFilter struct {
	src      *xml.Decoder
	lim      Limits
	elements int
	// stack records, for each open element, whether it was marked.
	stack []bool
	// foreign counts open elements inside a foreign subtree, which is
	// captured verbatim and left untouched.
	foreign  int
	rootName xml.Name
}

// Token implements xml.TokenReader.
func (f *nsFilter) Token() (xml.Token, error) {
	t, err := f.src.Token()
	if err != nil {
		return nil, err
	}
	switch tt := t.(type) {
	case xml.StartElement:
		f.elements++
		if f.elements > f.lim.MaxElements {
			return nil, fmt.Errorf("more than %d elements: %w", f.lim.MaxElements, ErrLimit)
		}
		if len(f.stack)+1 > f.lim.MaxDepth {
			return nil, fmt.Errorf("elements nested deeper than %d: %w", f.lim.MaxDepth, ErrLimit)
		}
		if len(f.stack) == 0 {
			f.rootName = tt.Name
		}
		tt.Attr = dropNSDecls(tt.Attr)
		mark := false
		if f.foreign > 0 {
			f.foreign++
		} else if tt.Name.Space == Namespace {
			tt.Attr = ourAttrs(tt.Attr)
		} else {
			f.foreign = 1
			mark = true
			tt.Name.Local = foreignMark + tt.Name.Local
		}
		f.stack = append(f.stack, mark)
		return tt, nil
	case xml.EndElement:
		if len(f.stack) == 0 {
			return nil, errors.New("unbalanced end element")
		}
		mark := f.stack[len(f.stack)-1]
		f.stack = f.stack[:len(f.stack)-1]
		if f.foreign > 0 {
			f.foreign--
		}
		if mark {
			tt.Name.Local = foreignMark + tt.Name.Local
		}
		return tt, nil
	}
	return t, nil
}

// dropNSDecls removes namespace declarations: the raw decoder has already
// resolved every name, and declarations passed on would make the struct
// decoder resolve them a second time.
func dropNSDecls(in []xml.Attr) []xml.Attr {
	out := in[:0]
	for _, a := range in {
		if !isNSDecl(a.Name) {
			out = append(out, a)
		}
	}
	return out
}

// ourAttrs marks the attributes of other namespaces on a conference-info
// element, so that only unqualified attributes fill the struct's fields.
func ourAttrs(in []xml.Attr) []xml.Attr {
	out := in[:0]
	for _, a := range in {
		if a.Name.Space != "" {
			a.Name.Local = foreignMark + a.Name.Local
		}
		out = append(out, a)
	}
	return out
}

// checkStates rejects state attributes outside the schema's enumeration,
// which Apply could not interpret.
func checkStates(doc *Info) error {
	bad := func(where string, s DocState) error {
		return fmt.Errorf("%s state %q, want full, partial or deleted", where, string(s))
	}
	if !doc.State.valid() {
		return bad("conference-info", doc.State)
	}
	for _, u := range []*URIs{doc.SidebarsByRef, descURIs(doc.Description, true), descURIs(doc.Description, false), hostURIs(doc.HostInfo)} {
		if u != nil && !u.State.valid() {
			return bad("uris", u.State)
		}
	}
	if doc.Users != nil {
		if !doc.Users.State.valid() {
			return bad("users", doc.Users.State)
		}
		for i := range doc.Users.User {
			u := &doc.Users.User[i]
			if !u.State.valid() {
				return bad("user "+u.Entity, u.State)
			}
			if u.AssociatedAORs != nil && !u.AssociatedAORs.State.valid() {
				return bad("associated-aors", u.AssociatedAORs.State)
			}
			for j := range u.Endpoints {
				if !u.Endpoints[j].State.valid() {
					return bad("endpoint "+u.Endpoints[j].Entity, u.Endpoints[j].State)
				}
			}
		}
	}
	if doc.SidebarsByVal != nil {
		if !doc.SidebarsByVal.State.valid() {
			return bad("sidebars-by-val", doc.SidebarsByVal.State)
		}
		for i := range doc.SidebarsByVal.Entries {
			if err := checkStates(&doc.SidebarsByVal.Entries[i]); err != nil {
				return fmt.Errorf("sidebar: %w", err)
			}
		}
	}
	return nil
}

func descURIs(d *Description, conf bool) *URIs {
	if d == nil {
		return nil
	}
	if conf {
		return d.ConfURIs
	}
	return d.ServiceURIs
}

func hostURIs(h *HostInfo) *URIs {
	if h == nil {
		return nil
	}
	return h.URIs
}
