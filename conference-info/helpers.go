package confinfo

import (
	"strings"
)

// ChatURI is the XMPP URI that joins a MUC room (RFC 5122), as RFC 7106
// puts it in service-uris: xmpp:<room>@<muc-domain>?join. Characters of the
// room name that RFC 5122 does not allow in a node are percent-encoded.
func ChatURI(room, mucDomain string) string {
	return "xmpp:" + escapeNode(room) + "@" + mucDomain + "?join"
}

// escapeNode percent-encodes what RFC 5122's nodeid does not allow: it
// keeps unreserved characters and the sub-delims other than the ones XMPP
// node names forbid.
func escapeNode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$()*+,;=", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// NewDescription is the conference description the bridge advertises: a
// display text, the SIP URI in conf-uris (purpose participation) and, when
// chatURI is not empty, the chat room in service-uris with purpose
// grouptextchat (RFC 7106; build it with ChatURI).
func NewDescription(displayText, sipURI, chatURI string) Description {
	d := Description{DisplayText: displayText}
	if sipURI != "" {
		d.ConfURIs = &URIs{Entries: []URI{{URI: sipURI, Purpose: PurposeParticipation}}}
	}
	if chatURI != "" {
		d.ServiceURIs = &URIs{Entries: []URI{{URI: chatURI, Purpose: PurposeGroupTextChat}}}
	}
	return d
}

// ChatRoom returns the grouptextchat service URI of a description, if any.
func (d *Description) ChatRoom() (string, bool) {
	if d == nil || d.ServiceURIs == nil {
		return "", false
	}
	for _, e := range d.ServiceURIs.Entries {
		if e.Purpose == PurposeGroupTextChat {
			return e.URI, true
		}
	}
	return "", false
}

// Leg describes one audio call leg, the common endpoint of this bridge.
// Empty fields are left out of the document.
type Leg struct {
	// Entity is the endpoint's key, unique within the user: e.g. the
	// Contact URI of the phone, or a leg id.
	Entity      string
	DisplayText string
	Status      EndpointStatus
	Joining     JoiningMethod
	// Disconnection is how a disconnected leg ended (booted for a MUC
	// kick or ban).
	Disconnection DisconnectionMethod
	// MediaID is the key of the audio stream; default "1".
	MediaID string
	// MediaLabel is the SDP a=label of the stream, SrcID its RTP SSRC.
	MediaLabel, SrcID string
	// MediaStatus is the stream's direction: recvonly when the focus
	// mutes the participant.
	MediaStatus MediaStatus
	// CallID, FromTag and ToTag identify the SIP dialog (call-info).
	CallID, FromTag, ToTag string
}

// AudioEndpoint is the endpoint of a leg, with one audio media stream.
func AudioEndpoint(l Leg) Endpoint {
	e := Endpoint{
		Entity:              l.Entity,
		DisplayText:         l.DisplayText,
		Status:              l.Status,
		JoiningMethod:       l.Joining,
		DisconnectionMethod: l.Disconnection,
	}
	id := l.MediaID
	if id == "" {
		id = "1"
	}
	e.Media = []Media{{ID: id, Type: "audio", Label: l.MediaLabel, SrcID: l.SrcID, Status: l.MediaStatus}}
	if l.CallID != "" {
		e.CallInfo = &CallInfo{SIP: &SIPDialog{CallID: l.CallID, FromTag: l.FromTag, ToTag: l.ToTag}}
	}
	return e
}

// AudioUser is a participant with one audio leg.
func AudioUser(entity, displayText string, l Leg) User {
	return User{Entity: entity, DisplayText: displayText, Endpoints: []Endpoint{AudioEndpoint(l)}}
}

// ChatUser is a chat-only participant: a user without an endpoint, so SIP
// watchers see who can only read (RFC 7081 section 4). entity is its XMPP
// address, e.g. xmpp:alice@example.test.
func ChatUser(entity, displayText string) User {
	return User{Entity: entity, DisplayText: displayText}
}

// SetLegStatus sets an endpoint's status and, when media is not empty, the
// status of its audio streams: the one call the focus makes when a leg is
// answered (connected, sendrecv), held (on-hold), muted by a moderator
// (muted-via-focus, recvonly) or given its voice back.
func (s *State) SetLegStatus(user, endpoint string, status EndpointStatus, media MediaStatus) error {
	return s.UpdateEndpoint(user, endpoint, func(e *Endpoint) {
		e.Status = status
		if media == "" {
			return
		}
		for i := range e.Media {
			if e.Media[i].Type == "audio" {
				e.Media[i].Status = media
			}
		}
	})
}

// DisconnectLeg marks an endpoint disconnected and records how it ended
// (booted for a MUC kick or ban, RFC 4575); info, if not
// nil, says when, why and by whom. The endpoint stays listed until
// RemoveEndpoint or RemoveUser, so watchers see how the leg left.
func (s *State) DisconnectLeg(user, endpoint string, how DisconnectionMethod, info *Execution) error {
	return s.UpdateEndpoint(user, endpoint, func(e *Endpoint) {
		e.Status = StatusDisconnected
		e.DisconnectionMethod = how
		if info != nil {
			e.DisconnectionInfo = info.clone()
		}
	})
}

// Entity is the conference URI the State's documents describe.
func (s *State) Entity() string { return s.entity }
