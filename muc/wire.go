package muc

import (
	"strconv"
	"unicode/utf8"
)

// The component link carries every copy of every groupchat message, and the
// XMPP server parses each one before routing it, so the bytes written here
// are the server's main cost per delivery (docs/design/05_muc.md, "Fan-out
// cost"). appendXML writes the shortest standard form instead of going
// through encoding/xml and mellium's stanza encoder: no xmlns on stanzas
// (they inherit the stream's jabber:component:accept), a namespace declared
// only where it changes, single-quoted attributes, empty elements
// self-closed, and only the escapes XML requires.

const xmlURL = "http://www.w3.org/XML/1998/namespace"

// appendXML appends e, a top-level stanza, to b.
func (e *element) appendXML(b []byte) []byte {
	return e.appendTo(b, "")
}

func (e *element) appendTo(b []byte, inherited string) []byte {
	space := e.Name.Space
	if isStreamNS(space) {
		// As in tokens: stanza-level elements inherit the stream's
		// namespace; one nested in an extension must say jabber:client.
		space = ""
		if inherited != "" {
			space = nsClient
		}
	}
	b = append(b, '<')
	b = append(b, e.Name.Local...)
	if space != inherited {
		b = appendAttr(b, "", "xmlns", space)
	}
	prefixes := 0
	for _, a := range e.Attr {
		switch a.Name.Space {
		case "":
			b = appendAttr(b, "", a.Name.Local, a.Value)
		case xmlURL, "xml":
			b = appendAttr(b, "xml", a.Name.Local, a.Value)
		default:
			// An attribute in a foreign namespace gets a prefix of its own.
			p := "a" + strconv.Itoa(prefixes)
			prefixes++
			b = appendAttr(b, "xmlns", p, a.Name.Space)
			b = appendAttr(b, p, a.Name.Local, a.Value)
		}
	}
	if len(e.Nodes) == 0 {
		return append(b, '/', '>')
	}
	b = append(b, '>')
	for _, n := range e.Nodes {
		switch v := n.(type) {
		case *element:
			b = v.appendTo(b, space)
		case string:
			b = appendEscaped(b, v, false)
		}
	}
	b = append(b, '<', '/')
	b = append(b, e.Name.Local...)
	return append(b, '>')
}

func appendAttr(b []byte, prefix, local, value string) []byte {
	b = append(b, ' ')
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, ':')
	}
	b = append(b, local...)
	b = append(b, '=', '\'')
	b = appendEscaped(b, value, true)
	return append(b, '\'')
}

// appendEscaped escapes what XML requires: & and < everywhere, the > of
// "]]>" in text, the quote in attributes, and in attributes the white
// space a parser would normalise away. \r is escaped everywhere, since a
// parser turns a raw one into \n. Characters XML cannot carry (control
// characters, invalid UTF-8) become U+FFFD, as encoding/xml does.
func appendEscaped(b []byte, s string, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>' && !attr && i >= 2 && s[i-2:i] == "]]":
			// Only "]]>" is forbidden in text; escaping every > would let
			// a message of them grow fourfold on the link.
			esc = "&gt;"
		case r == '\'' && attr:
			esc = "&apos;"
		case r == '\r':
			esc = "&#13;"
		case r == '\n' && attr:
			esc = "&#10;"
		case r == '\t' && attr:
			esc = "&#9;"
		case (r == utf8.RuneError && w == 1) || !isXMLChar(r):
			esc = "\uFFFD"
		default:
			i += w
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		i += w
		last = i
	}
	return append(b, s[last:]...)
}

// isXMLChar reports whether r is in XML 1.0's Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
