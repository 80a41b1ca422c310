package muc

// Namespaces this package reads or writes.
const (
	nsComponent = "jabber:component:accept"
	nsClient    = "jabber:client"
	nsServer    = "jabber:server"
	nsStanzas   = "urn:ietf:params:xml:ns:xmpp-stanzas"

	// NSMUC and its sub-namespaces are XEP-0045's.
	NSMUC      = "http://jabber.org/protocol/muc"
	NSMUCUser  = "http://jabber.org/protocol/muc#user"
	NSMUCAdmin = "http://jabber.org/protocol/muc#admin"
	NSMUCOwner = "http://jabber.org/protocol/muc#owner"

	nsRoomInfo   = "http://jabber.org/protocol/muc#roominfo"
	nsRoomConfig = "http://jabber.org/protocol/muc#roomconfig"
	nsRequest    = "http://jabber.org/protocol/muc#request"

	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
	nsDiscoItems = "http://jabber.org/protocol/disco#items"
	nsData       = "jabber:x:data"
	nsPing       = "urn:xmpp:ping"
	nsDelay      = "urn:xmpp:delay"
	nsStanzaID   = "urn:xmpp:sid:0"
	nsOccupantID = "urn:xmpp:occupant-id:0"

	// NSBridge is the project's own namespace. Audio-only occupants carry
	// <phone xmlns='urn:cusax:bridge:0'/> in their presence so clients (and
	// people reading raw XML) can tell a phone leg from a chat user.
	NSBridge = "urn:cusax:bridge:0"

	// FieldAudioVideoURI is the muc#roominfo (and read-only muc#roomconfig)
	// field carrying the room's SIP conference URI, as RFC 7081 section 4
	// asks. No XEP registers a name for it; this is the one the project uses.
	FieldAudioVideoURI = "audio-video-uri"
	// FieldEncryptedMedia is the room configuration field (boolean) that
	// makes the audio face take encrypted media only (RFC 7081 section 7).
	FieldEncryptedMedia = "cusax#encrypted_media_only"
	// FieldJoinTones is the room configuration field (boolean, default on)
	// that plays a tone into the audio when a caller joins or leaves.
	FieldJoinTones = "cusax#join_tones"
	// FieldMediaSecurity is the muc#roominfo field summarising the audio
	// legs' protection: "encrypted" (every leg), "mixed", "unencrypted"
	// (none) or "none" (no legs).
	FieldMediaSecurity = "cusax#media_security"
)
