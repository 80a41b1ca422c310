package confinfo

import (
	"encoding/xml"
	"strings"
)

// NSBridge is the namespace of CUSAX Bridge's own extension elements, the
// same one its MUC presence uses (docs/namespaces.md). Clients that do not
// know it ignore it, as RFC 4575 section 5 asks.
const NSBridge = "urn:cusax:bridge:0"

// Security is the extension element that tells how a leg's stream is
// protected (RFC 7081 section 7: both faces show it), placed in the
// endpoint's <media>:
//
//	<security xmlns='urn:cusax:bridge:0' signalling='tls' media='srtp'/>
//
// signalling is how the leg's signalling came (tls, plain, https, http) and
// media how its audio travels (srtp, dtls-srtp, rtp).
func Security(signalling, media string) Element {
	var b strings.Builder
	b.WriteString(`<security xmlns="` + NSBridge + `" signalling="`)
	_ = xml.EscapeText(&b, []byte(signalling))
	b.WriteString(`" media="`)
	_ = xml.EscapeText(&b, []byte(media))
	b.WriteString(`"/>`)
	e, err := ParseElement(b.String())
	if err != nil {
		return Element{} // cannot happen: the text is escaped
	}
	return e
}

// MediaSecurity reads the Security element of a media stream: ok is false
// when it has none.
func MediaSecurity(m Media) (signalling, media string, ok bool) {
	for _, e := range m.Ext {
		if e.Name() != (xml.Name{Space: NSBridge, Local: "security"}) {
			continue
		}
		var v struct {
			Signalling string `xml:"signalling,attr"`
			Media      string `xml:"media,attr"`
		}
		if err := xml.Unmarshal([]byte(e.String()), &v); err != nil {
			return "", "", false
		}
		return v.Signalling, v.Media, true
	}
	return "", "", false
}
