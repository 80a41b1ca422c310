package muc

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// element is a small XML tree. The MUC service must both read stanzas and
// re-emit most of a groupchat message's payload to every occupant; a tree is
// the simplest faithful way to do both. Namespaces are resolved (Name.Space
// is the namespace URI, xmlns attributes are dropped) and written back as an
// xmlns attribute only where an element's namespace differs from its parent.
type element struct {
	Name  xml.Name
	Attr  []xml.Attr
	Nodes []any // *element or string (character data), in document order
}

// Limits on what a stanza may contain, so a hostile client cannot make the
// service build an unbounded tree.
const (
	maxDepth  = 32
	maxTokens = 20000
	maxText   = 256 * 1024
)

var (
	errTooLarge  = errors.New("muc: stanza too large or too deep")
	errMalformed = errors.New("muc: stanza has an element or attribute name that is not an XML name")
)

// isXMLName reports whether s is a valid (unprefixed) XML name. The decoder
// splits prefixes leniently ("p:0" gives the local name "0"); such names
// could not be written back, so the stanza is refused at the door.
func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := unicode.IsLetter(r) || r == '_'
		if i > 0 {
			ok = ok || unicode.IsDigit(r) || r == '-' || r == '.' || unicode.IsMark(r)
		}
		if !ok {
			return false
		}
	}
	return true
}

func checkNames(s xml.StartElement) error {
	if !isXMLName(s.Name.Local) {
		return errMalformed
	}
	for _, a := range s.Attr {
		if !isXMLName(a.Name.Local) {
			return errMalformed
		}
	}
	return nil
}

// newElem builds an element in namespace space.
func newElem(space, local string, attrs ...string) *element {
	e := &element{Name: xml.Name{Space: space, Local: local}}
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] != "" {
			e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
		}
	}
	return e
}

// add appends children and returns e for chaining.
func (e *element) add(children ...*element) *element {
	for _, c := range children {
		if c != nil {
			e.Nodes = append(e.Nodes, c)
		}
	}
	return e
}

// text appends character data.
func (e *element) withText(s string) *element {
	if s != "" {
		e.Nodes = append(e.Nodes, s)
	}
	return e
}

// attr returns the value of an unqualified attribute.
func (e *element) attr(local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == e.Name.Space) {
			return a.Value
		}
	}
	return ""
}

// setAttr replaces or adds an unqualified attribute; an empty value removes it.
func (e *element) setAttr(local, value string) {
	out := e.Attr[:0]
	for _, a := range e.Attr {
		if a.Name.Local == local && a.Name.Space == "" {
			continue
		}
		out = append(out, a)
	}
	e.Attr = out
	if value != "" {
		e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: local}, Value: value})
	}
}

// child returns the first child element with that name; space "" matches any.
func (e *element) child(space, local string) *element {
	for _, n := range e.Nodes {
		if c, ok := n.(*element); ok && c.Name.Local == local && (space == "" || c.Name.Space == space) {
			return c
		}
	}
	return nil
}

// children returns all child elements.
func (e *element) children() []*element {
	var out []*element
	for _, n := range e.Nodes {
		if c, ok := n.(*element); ok {
			out = append(out, c)
		}
	}
	return out
}

// text returns the concatenated character data directly inside e.
func (e *element) text() string {
	var b strings.Builder
	for _, n := range e.Nodes {
		if s, ok := n.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

// clone deep-copies e so a broadcast can be edited per recipient.
func (e *element) clone() *element {
	c := &element{Name: e.Name, Attr: append([]xml.Attr(nil), e.Attr...)}
	c.Nodes = make([]any, 0, len(e.Nodes))
	for _, n := range e.Nodes {
		if ce, ok := n.(*element); ok {
			c.Nodes = append(c.Nodes, ce.clone())
		} else {
			c.Nodes = append(c.Nodes, n)
		}
	}
	return c
}

// readElement builds the tree of the element whose start was already read,
// reading its content from r until the matching end.
func readElement(start xml.StartElement, r xml.TokenReader) (*element, error) {
	if err := checkNames(start); err != nil {
		return nil, err
	}
	root := fromStart(start)
	stack := []*element{root}
	tokens, textLen := 0, 0
	for len(stack) > 0 {
		tok, err := r.Token()
		if err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("muc: stanza <%s> ended before its end tag: %w", start.Name.Local, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		tokens++
		if tokens > maxTokens {
			return nil, errTooLarge
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, errTooLarge
			}
			if err := checkNames(t); err != nil {
				return nil, err
			}
			c := fromStart(t)
			top.Nodes = append(top.Nodes, c)
			stack = append(stack, c)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			textLen += len(t)
			if textLen > maxText {
				return nil, errTooLarge
			}
			top.Nodes = append(top.Nodes, string(t))
		}
	}
	return root, nil
}

func fromStart(s xml.StartElement) *element {
	e := &element{Name: s.Name}
	for _, a := range s.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		e.Attr = append(e.Attr, a)
	}
	return e
}

// parseElement parses one element from bytes (tests, fuzzing).
func parseElement(b []byte) (*element, error) {
	d := xml.NewDecoder(strings.NewReader(string(b)))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		if s, ok := tok.(xml.StartElement); ok {
			return readElement(s, d)
		}
	}
}

// tokens flattens e into tokens. The element's own namespace is written as a
// plain xmlns attribute where it differs from the inherited one; Name.Space
// stays empty so encoding/xml never doubles the declaration.
func (e *element) tokens(inherited string, out []xml.Token) []xml.Token {
	start := xml.StartElement{Name: xml.Name{Local: e.Name.Local}}
	space := e.Name.Space
	if isStreamNS(space) {
		// Stanza-level elements inherit the stream's namespace; one nested in
		// an extension (a forwarded message) must say jabber:client.
		space = ""
		if inherited != "" {
			space = nsClient
		}
	}
	if space != inherited {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: space})
	}
	start.Attr = append(start.Attr, e.Attr...)
	out = append(out, start)
	for _, n := range e.Nodes {
		switch v := n.(type) {
		case *element:
			out = v.tokens(space, out)
		case string:
			out = append(out, xml.CharData(v))
		}
	}
	return append(out, start.End())
}

func isStreamNS(s string) bool {
	return s == "" || s == nsComponent || s == nsClient || s == nsServer
}

// String renders e as XML (logs, tests, history size accounting).
func (e *element) String() string {
	var b strings.Builder
	enc := xml.NewEncoder(&b)
	for _, t := range e.tokens("", nil) {
		if err := enc.EncodeToken(t); err != nil {
			return "<!-- " + err.Error() + " -->"
		}
	}
	enc.Flush()
	return b.String()
}
