package focus

import (
	"time"

	confinfo "cusax.dev/bridge/conference-info"
)

// WebLeg is a leg the focus does not hold itself, a browser's WebRTC leg,
// shown in conference-info as an endpoint of its user all the same, so SIP
// watchers see everyone who can hear the room (RFC 7081 section 4).
type WebLeg struct {
	// ID names the leg (the browser leg's ID).
	ID string
	// User is the entity of the person: xmpp:<bare JID> when bound, else
	// the occupant's xmpp:<room>@<chat domain>/<nick>.
	User        string
	DisplayText string
	Muted       bool // by a moderator
	SelfMuted   bool
	Joined      time.Time
	// Signalling (https or http) and Media (dtls-srtp) are the leg's
	// security level, shown as for phones.
	Signalling, Media string
}

// webEndpointPrefix makes a browser leg's endpoint entity: a URN, since the
// leg has no SIP Contact.
const webEndpointPrefix = "urn:cusax:browser:"

// SetWebLegs replaces the browser legs of a room; sync calls it as they
// join, leave and change voice. A chat user with a browser leg is shown
// once, with the leg as its endpoint.
func (f *Focus) SetWebLegs(roomName string, legs []WebLeg) {
	f.mu.Lock()
	r := f.getRoomLocked(roomName)
	f.mu.Unlock()
	r.info.mu.Lock()
	r.info.web = append(r.info.web[:0], legs...)
	r.info.mu.Unlock()
	f.roomChanged(roomName)
	f.gcRoom(roomName)
}

// webEndpoint renders a browser leg as an RFC 4575 endpoint with one audio
// stream, as endpointOf does for a phone.
func webEndpoint(w WebLeg) confinfo.Endpoint {
	l := confinfo.Leg{Entity: webEndpointPrefix + w.ID, DisplayText: w.DisplayText, Joining: confinfo.JoinDialedIn,
		Status: confinfo.StatusConnected, MediaStatus: confinfo.MediaSendRecv}
	if w.Muted || w.SelfMuted {
		l.Status = confinfo.StatusMutedViaFocus
		l.MediaStatus = confinfo.MediaRecvOnly
	}
	ep := confinfo.AudioEndpoint(l)
	ep.JoiningInfo = &confinfo.Execution{When: w.Joined.UTC().Format(time.RFC3339)}
	ep.Media[0].Ext = append(ep.Media[0].Ext, confinfo.Security(w.Signalling, w.Media))
	return ep
}
