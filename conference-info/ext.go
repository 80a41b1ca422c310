package confinfo

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// foreignMark prefixes the local name of a foreign element or attribute
// while a document is decoded. encoding/xml matches untagged fields by
// local name in any namespace; the mark keeps a foreign <x:user> or x:state
// from landing in a conference-info field, and is removed again by Element
// and ExtAttr. No XML name can start with it.
const foreignMark = "\x00"

// Element is an element from another namespace, kept verbatim (its start,
// content and end tokens) so that extensions survive a decode/encode round
// trip. The zero Element encodes to nothing.
type Element struct {
	toks []xml.Token
}

// ParseElement parses one XML element, to add an extension element to a
// document. Its namespace must not be the conference-info one.
func ParseElement(s string) (Element, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		t, err := d.Token()
		if err != nil {
			return Element{}, fmt.Errorf("confinfo: parse extension element: %w", err)
		}
		if se, ok := t.(xml.StartElement); ok {
			if se.Name.Space == Namespace {
				return Element{}, fmt.Errorf("confinfo: extension element <%s> is in the conference-info namespace, want another one", se.Name.Local)
			}
			var e Element
			if err := e.capture(d, se); err != nil {
				return Element{}, err
			}
			return e, nil
		}
	}
}

// Name is the namespace and local name of the element.
func (e Element) Name() xml.Name {
	if len(e.toks) == 0 {
		return xml.Name{}
	}
	return e.toks[0].(xml.StartElement).Name
}

// String renders the element as XML text, for logs and tests.
func (e Element) String() string {
	var b strings.Builder
	enc := xml.NewEncoder(&b)
	if err := e.MarshalXML(enc, xml.StartElement{}); err != nil {
		return "<!-- " + err.Error() + " -->"
	}
	if err := enc.Flush(); err != nil {
		return "<!-- " + err.Error() + " -->"
	}
	return b.String()
}

// UnmarshalXML records the element and everything in it.
func (e *Element) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	return e.capture(d, start)
}

func (e *Element) capture(d *xml.Decoder, start xml.StartElement) error {
	e.toks = append(e.toks[:0], cleanStart(start))
	depth := 1
	for depth > 0 {
		t, err := d.Token()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
			e.toks = append(e.toks, cleanStart(t))
		case xml.EndElement:
			depth--
			t.Name.Local = strings.TrimPrefix(t.Name.Local, foreignMark)
			e.toks = append(e.toks, t)
		case xml.CharData:
			e.toks = append(e.toks, t.Copy())
		}
		// Comments, processing instructions and directives carry no
		// data worth keeping.
	}
	return nil
}

// cleanStart copies a start element, removes the foreign mark and drops
// namespace declarations: names are already resolved, and the encoder
// declares what it needs.
func cleanStart(s xml.StartElement) xml.StartElement {
	out := xml.StartElement{Name: s.Name}
	out.Name.Local = strings.TrimPrefix(out.Name.Local, foreignMark)
	for _, a := range s.Attr {
		if isNSDecl(a.Name) {
			continue
		}
		a.Name.Local = strings.TrimPrefix(a.Name.Local, foreignMark)
		out.Attr = append(out.Attr, a)
	}
	return out
}

func isNSDecl(n xml.Name) bool {
	return n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns")
}

// MarshalXML writes the recorded element back. It always sits inside a
// conference-info element, so it starts with that namespace as the default;
// an element in the default namespace in effect is written without xmlns,
// any other gets xmlns="its namespace" (xmlns="" for no namespace).
func (e Element) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	defaults := []string{Namespace} // default namespace in effect, per open element
	var names []xml.Name            // names as written, to close them
	for _, t := range e.toks {
		switch tt := t.(type) {
		case xml.StartElement:
			space := tt.Name.Space
			switch {
			case space == defaults[len(defaults)-1]:
				tt.Name.Space = ""
			case space == "":
				tt.Attr = append([]xml.Attr{{Name: xml.Name{Local: "xmlns"}}}, tt.Attr...)
			}
			defaults = append(defaults, space)
			names = append(names, tt.Name)
			t = tt
		case xml.EndElement:
			if len(names) == 0 {
				return errors.New("confinfo: extension element ends more elements than it starts")
			}
			tt.Name = names[len(names)-1]
			names = names[:len(names)-1]
			defaults = defaults[:len(defaults)-1]
			t = tt
		}
		if err := enc.EncodeToken(t); err != nil {
			return err
		}
	}
	return nil
}

func (e Element) clone() Element {
	if e.toks == nil {
		return e
	}
	out := Element{toks: make([]xml.Token, len(e.toks))}
	for i, t := range e.toks {
		out.toks[i] = xml.CopyToken(t)
	}
	return out
}

// ExtAttr is an attribute from another namespace, kept through a round
// trip.
type ExtAttr xml.Attr

// UnmarshalXMLAttr records the attribute.
func (a *ExtAttr) UnmarshalXMLAttr(attr xml.Attr) error {
	attr.Name.Local = strings.TrimPrefix(attr.Name.Local, foreignMark)
	*a = ExtAttr(attr)
	return nil
}

// MarshalXMLAttr writes the attribute back.
func (a ExtAttr) MarshalXMLAttr(xml.Name) (xml.Attr, error) {
	if a.Name.Local == "" || isNSDecl(a.Name) {
		// Namespace declarations are the encoder's business.
		return xml.Attr{}, nil
	}
	return xml.Attr(a), nil
}

func cloneElems(in []Element) []Element {
	if in == nil {
		return nil
	}
	out := make([]Element, len(in))
	for i, e := range in {
		out[i] = e.clone()
	}
	return out
}

func cloneAttrs(in []ExtAttr) []ExtAttr {
	if in == nil {
		return nil
	}
	return append([]ExtAttr(nil), in...)
}
