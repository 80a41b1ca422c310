package sync

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// vcardSIPAddresses returns the SIP URIs a vcard-temp vCard (XEP-0054)
// lists as the person's addresses. vcard-temp has no field for them, so
// clients put them in URL, IMPP (RFC 4770, as later vCard versions do),
// X-SIP or a TEL's NUMBER; sync accepts a sip: or sips: URI as the whole
// text of one of those elements, and nothing from free text (NOTE, DESC):
// a hint is only as good as the field the user meant as an address.
// The input comes from the network: it is read with a size and depth
// bound, and anything malformed yields what was read before it.
func vcardSIPAddresses(raw []byte) []string {
	const maxSize, maxDepth, maxAddrs = 64 << 10, 16, 32
	if len(raw) > maxSize {
		raw = raw[:maxSize]
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	var stack []string
	var text strings.Builder
	var out []string
	for len(out) < maxAddrs {
		tok, err := d.Token()
		if err != nil {
			return out // io.EOF or malformed: keep what was read
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return out
			}
			stack = append(stack, strings.ToUpper(t.Name.Local))
			text.Reset()
		case xml.CharData:
			if text.Len() < 1024 {
				text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return out
			}
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !addressField(name, stack) {
				text.Reset()
				continue
			}
			v := strings.TrimSpace(text.String())
			text.Reset()
			if _, _, ok := splitAOR(v); ok && !strings.ContainsAny(v, " \t\r\n<>\"") {
				out = append(out, v)
			}
		}
	}
	return out
}

// addressField says whether an element (with its parents) is one of the
// vCard fields that carry an address.
func addressField(name string, parents []string) bool {
	switch name {
	case "URL", "IMPP", "X-SIP", "SIP":
		return true
	case "NUMBER":
		return len(parents) > 0 && parents[len(parents)-1] == "TEL"
	}
	return false
}
