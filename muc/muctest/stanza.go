package muctest

import (
	"encoding/xml"
	"strings"
)

// Node is a generic XML element, enough for tests to look into stanzas a
// client received without knowing every extension's schema.
type Node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []Node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

// Stanza is one stanza a client received (or a result it got), parsed.
type Stanza struct {
	Node
	// Raw is the XML as the client serialised it.
	Raw string
}

// ParseStanza parses raw XML into a Stanza.
func ParseStanza(raw string) (Stanza, error) {
	var n Node
	err := xml.Unmarshal([]byte(raw), &n)
	return Stanza{Node: n, Raw: raw}, err
}

// Name is the element's local name (message, presence, iq).
func (n *Node) Name() string { return n.XMLName.Local }

// Attr returns an attribute's value by local name.
func (n *Node) Attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Find returns the first descendant (or n itself) with that local name and,
// when space is not empty, that namespace; nil if none.
func (n *Node) Find(space, local string) *Node {
	if n.XMLName.Local == local && (space == "" || n.XMLName.Space == space) {
		return n
	}
	for i := range n.Nodes {
		if f := n.Nodes[i].Find(space, local); f != nil {
			return f
		}
	}
	return nil
}

// FindAll returns every descendant (or n) with that local name.
func (n *Node) FindAll(local string) []*Node {
	var out []*Node
	if n.XMLName.Local == local {
		out = append(out, n)
	}
	for i := range n.Nodes {
		out = append(out, n.Nodes[i].FindAll(local)...)
	}
	return out
}

// StatusCodes returns the MUC status codes in the stanza.
func (n *Node) StatusCodes() []string {
	var out []string
	for _, s := range n.FindAll("status") {
		if c := s.Attr("code"); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// HasStatus reports whether the stanza carries MUC status code.
func (n *Node) HasStatus(code string) bool {
	for _, c := range n.StatusCodes() {
		if c == code {
			return true
		}
	}
	return false
}

// ErrorCondition returns the stanza error condition, or "".
func (n *Node) ErrorCondition() string {
	if n.Attr("type") != "error" {
		return ""
	}
	e := n.Find("", "error")
	if e == nil {
		return ""
	}
	for _, c := range e.Nodes {
		if c.XMLName.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.XMLName.Local != "text" {
			return c.XMLName.Local
		}
	}
	return ""
}

// Body returns the text of the first <body/>.
func (n *Node) Body() string {
	if b := n.Find("", "body"); b != nil {
		return strings.TrimSpace(b.Text)
	}
	return ""
}

// FieldValue returns the first value of the data-form field named v.
func (n *Node) FieldValue(v string) (string, bool) {
	for _, f := range n.FindAll("field") {
		if f.Attr("var") == v {
			if val := f.Find("", "value"); val != nil {
				return val.Text, true
			}
			return "", true
		}
	}
	return "", false
}
