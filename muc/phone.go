package muc

import "strconv"

// PhonePresence is what an audio-only occupant shows: a human-readable
// status and the state of its phone leg. It travels as ordinary <show/> and
// <status/> (for every client) plus <phone xmlns='urn:cusax:bridge:0'/>
// (for those that want to render a phone leg).
type PhonePresence struct {
	// Status is shown by every client, e.g. "on the phone (+1 555…)".
	Status string
	// Show is "", "away", "chat", "dnd" or "xa".
	Show string
	// Muted, Held and Talking describe the leg's audio.
	Muted, Held, Talking bool
	// Via names the kind of leg when it is not a phone: "browser" for a
	// WebRTC leg; it travels as the via attribute.
	Via string
	// Signalling (tls, plain, https, http) and Media (srtp, dtls-srtp,
	// rtp) are the leg's security level (RFC 7081 section 7), as the
	// signalling and media attributes.
	Signalling, Media string
}

func (p *PhonePresence) elements() []*element {
	var out []*element
	switch p.Show {
	case "away", "chat", "dnd", "xa":
		out = append(out, newElem(nsClient, "show").withText(p.Show))
	}
	if p.Status != "" {
		out = append(out, newElem(nsClient, "status").withText(p.Status))
	}
	return append(out, p.phoneElement())
}

// phoneElement is <phone xmlns='urn:cusax:bridge:0'/> with the leg's state
// as attributes, present only when true.
func (p *PhonePresence) phoneElement() *element {
	ph := newElem(NSBridge, "phone")
	for _, kv := range [][2]string{{"via", p.Via}, {"signalling", p.Signalling}, {"media", p.Media}} {
		if kv[1] != "" {
			ph.setAttr(kv[0], kv[1])
		}
	}
	for _, kv := range []struct {
		k string
		v bool
	}{{"muted", p.Muted}, {"held", p.Held}, {"talking", p.Talking}} {
		if kv.v {
			ph.setAttr(kv.k, strconv.FormatBool(kv.v))
		}
	}
	return ph
}
