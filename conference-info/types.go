package confinfo

// Namespace is the XML namespace of conference-info documents (RFC 4575).
// Encoded documents declare it once, as the default namespace
// of the root element.
const Namespace = "urn:ietf:params:xml:ns:conference-info"

// ContentType is the MIME type of a conference-info document, for the
// Content-Type of NOTIFY requests (RFC 4575).
const ContentType = "application/conference-info+xml"

// EventPackage is the SIP event package name that carries these documents
// (RFC 4575).
const EventPackage = "conference"

// PurposeGroupTextChat is the service-uris purpose that points at the chat
// room of a conference (RFC 7106).
const PurposeGroupTextChat = "grouptextchat"

// PurposeParticipation is the conf-uris purpose of a URI that joins the
// conference (RFC 4575).
const PurposeParticipation = "participation"

// DocState is the "state" attribute of RFC 4575: whether an element carries
// its whole content, only what changed, or announces its removal. The empty
// value is the schema default, "full".
type DocState string

// The three values of the "state" attribute (RFC 4575).
const (
	StateFull    DocState = "full"
	StatePartial DocState = "partial"
	StateDeleted DocState = "deleted"
)

// valid reports whether s is one of the values the schema allows (or
// absent, meaning full).
func (s DocState) valid() bool {
	return s == "" || s == StateFull || s == StatePartial || s == StateDeleted
}

// EndpointStatus is the <status> of an endpoint (RFC 4575).
type EndpointStatus string

// Endpoint statuses of RFC 4575.
const (
	StatusPending       EndpointStatus = "pending"
	StatusDialingOut    EndpointStatus = "dialing-out"
	StatusDialingIn     EndpointStatus = "dialing-in"
	StatusAlerting      EndpointStatus = "alerting"
	StatusOnHold        EndpointStatus = "on-hold"
	StatusConnected     EndpointStatus = "connected"
	StatusMutedViaFocus EndpointStatus = "muted-via-focus"
	StatusDisconnecting EndpointStatus = "disconnecting"
	StatusDisconnected  EndpointStatus = "disconnected"
)

// JoiningMethod is how an endpoint joined (RFC 4575).
type JoiningMethod string

// Joining methods of RFC 4575.
const (
	JoinDialedIn   JoiningMethod = "dialed-in"
	JoinDialedOut  JoiningMethod = "dialed-out"
	JoinFocusOwner JoiningMethod = "focus-owner"
)

// DisconnectionMethod is how an endpoint left (RFC 4575).
// DisconnectBooted is what a MUC kick or ban turns into.
type DisconnectionMethod string

// Disconnection methods of RFC 4575.
const (
	DisconnectDeparted DisconnectionMethod = "departed"
	DisconnectBooted   DisconnectionMethod = "booted"
	DisconnectFailed   DisconnectionMethod = "failed"
	DisconnectBusy     DisconnectionMethod = "busy"
)

// MediaStatus is the direction of a media stream (RFC 4575).
// A participant whose voice a moderator revoked is "recvonly".
type MediaStatus string

// Media statuses of RFC 4575.
const (
	MediaSendRecv MediaStatus = "sendrecv"
	MediaSendOnly MediaStatus = "sendonly"
	MediaRecvOnly MediaStatus = "recvonly"
	MediaInactive MediaStatus = "inactive"
)

// Info is a <conference-info> document (RFC 4575), and also
// the conference-type of a sidebars-by-val entry. Its root element name and
// namespace are written by Encode, so the struct carries only content.
type Info struct {
	// Entity is the conference URI (required by the schema).
	Entity string `xml:"entity,attr"`
	// State is full, partial or deleted for the whole document.
	State DocState `xml:"state,attr,omitempty"`
	// Version orders the documents of one subscription: each document
	// sent is one more than the previous one.
	Version uint32 `xml:"version,attr"`
	// Attrs holds attributes from other namespaces.
	Attrs []ExtAttr `xml:",any,attr"`

	Description     *Description     `xml:"conference-description,omitempty"`
	HostInfo        *HostInfo        `xml:"host-info,omitempty"`
	ConferenceState *ConferenceState `xml:"conference-state,omitempty"`
	Users           *Users           `xml:"users,omitempty"`
	SidebarsByRef   *URIs            `xml:"sidebars-by-ref,omitempty"`
	SidebarsByVal   *Sidebars        `xml:"sidebars-by-val,omitempty"`
	// Ext holds child elements from other namespaces.
	Ext []Element `xml:",any"`
}

// Description is <conference-description> (RFC 4575). It has
// no state attribute: in a partial document the children it carries replace
// the receiver's, and available-media entries are merged by label.
type Description struct {
	Attrs       []ExtAttr `xml:",any,attr"`
	DisplayText string    `xml:"display-text,omitempty"`
	Subject     string    `xml:"subject,omitempty"`
	FreeText    string    `xml:"free-text,omitempty"`
	// Keywords is the space-separated keyword list.
	Keywords string `xml:"keywords,omitempty"`
	// ConfURIs are the URIs that join the conference (the SIP URI).
	ConfURIs *URIs `xml:"conf-uris,omitempty"`
	// ServiceURIs are auxiliary services; the chat room goes here with
	// purpose grouptextchat (RFC 7106).
	ServiceURIs      *URIs     `xml:"service-uris,omitempty"`
	MaximumUserCount *uint32   `xml:"maximum-user-count,omitempty"`
	AvailableMedia   *MediaSet `xml:"available-media,omitempty"`
	Ext              []Element `xml:",any"`
}

// URIs is the uris-type list used by conf-uris, service-uris,
// associated-aors, host-info uris and sidebars-by-ref. Entries are keyed by
// their URI.
type URIs struct {
	State   DocState  `xml:"state,attr,omitempty"`
	Attrs   []ExtAttr `xml:",any,attr"`
	Entries []URI     `xml:"entry"`
	Ext     []Element `xml:",any"`
}

// URI is one uri-type entry (RFC 4575).
type URI struct {
	Attrs       []ExtAttr  `xml:",any,attr"`
	URI         string     `xml:"uri"`
	DisplayText string     `xml:"display-text,omitempty"`
	Purpose     string     `xml:"purpose,omitempty"`
	Modified    *Execution `xml:"modified,omitempty"`
	Ext         []Element  `xml:",any"`
}

// Execution is the execution-type of referred, joining-info,
// disconnection-info and modified: when, why and by whom.
type Execution struct {
	Attrs []ExtAttr `xml:",any,attr"`
	// When is an xs:dateTime, kept as text so that a round trip never
	// changes it.
	When   string    `xml:"when,omitempty"`
	Reason string    `xml:"reason,omitempty"`
	By     string    `xml:"by,omitempty"`
	Ext    []Element `xml:",any"`
}

// MediaSet is <available-media>, whose entries are keyed by label.
type MediaSet struct {
	Attrs   []ExtAttr `xml:",any,attr"`
	Entries []Medium  `xml:"entry"`
	Ext     []Element `xml:",any"`
}

// Medium is a conference-medium-type entry of available-media.
type Medium struct {
	Label       string      `xml:"label,attr"`
	Attrs       []ExtAttr   `xml:",any,attr"`
	DisplayText string      `xml:"display-text,omitempty"`
	Type        string      `xml:"type"`
	Status      MediaStatus `xml:"status,omitempty"`
	Ext         []Element   `xml:",any"`
}

// HostInfo is <host-info> (RFC 4575).
type HostInfo struct {
	Attrs       []ExtAttr `xml:",any,attr"`
	DisplayText string    `xml:"display-text,omitempty"`
	WebPage     string    `xml:"web-page,omitempty"`
	URIs        *URIs     `xml:"uris,omitempty"`
	Ext         []Element `xml:",any"`
}

// ConferenceState is <conference-state> (RFC 4575).
type ConferenceState struct {
	Attrs     []ExtAttr `xml:",any,attr"`
	UserCount *uint32   `xml:"user-count,omitempty"`
	Active    *bool     `xml:"active,omitempty"`
	Locked    *bool     `xml:"locked,omitempty"`
	Ext       []Element `xml:",any"`
}

// Users is <users> (RFC 4575); users are keyed by entity.
type Users struct {
	State DocState  `xml:"state,attr,omitempty"`
	Attrs []ExtAttr `xml:",any,attr"`
	User  []User    `xml:"user"`
	Ext   []Element `xml:",any"`
}

// User is one <user> (RFC 4575): a participant, keyed by its
// entity (an AOR). A chat-only participant has no endpoint.
type User struct {
	Entity         string    `xml:"entity,attr,omitempty"`
	State          DocState  `xml:"state,attr,omitempty"`
	Attrs          []ExtAttr `xml:",any,attr"`
	DisplayText    string    `xml:"display-text,omitempty"`
	AssociatedAORs *URIs     `xml:"associated-aors,omitempty"`
	Roles          *Roles    `xml:"roles,omitempty"`
	// Languages is the space-separated list of language tags.
	Languages     string     `xml:"languages,omitempty"`
	CascadedFocus string     `xml:"cascaded-focus,omitempty"`
	Endpoints     []Endpoint `xml:"endpoint"`
	Ext           []Element  `xml:",any"`
}

// Roles is <roles>: the user's roles as plain strings.
type Roles struct {
	Attrs   []ExtAttr `xml:",any,attr"`
	Entries []string  `xml:"entry"`
	Ext     []Element `xml:",any"`
}

// Endpoint is one <endpoint> of a user (RFC 4575): a signalling
// leg, keyed by its entity.
type Endpoint struct {
	Entity              string              `xml:"entity,attr,omitempty"`
	State               DocState            `xml:"state,attr,omitempty"`
	Attrs               []ExtAttr           `xml:",any,attr"`
	DisplayText         string              `xml:"display-text,omitempty"`
	Referred            *Execution          `xml:"referred,omitempty"`
	Status              EndpointStatus      `xml:"status,omitempty"`
	JoiningMethod       JoiningMethod       `xml:"joining-method,omitempty"`
	JoiningInfo         *Execution          `xml:"joining-info,omitempty"`
	DisconnectionMethod DisconnectionMethod `xml:"disconnection-method,omitempty"`
	DisconnectionInfo   *Execution          `xml:"disconnection-info,omitempty"`
	Media               []Media             `xml:"media"`
	CallInfo            *CallInfo           `xml:"call-info,omitempty"`
	Ext                 []Element           `xml:",any"`
}

// Media is one <media> stream of an endpoint (RFC 4575),
// keyed by its id. The schema gives it no state attribute, so a partial
// document can add or change a stream but removing one resends its
// endpoint in full.
type Media struct {
	ID          string      `xml:"id,attr"`
	Attrs       []ExtAttr   `xml:",any,attr"`
	DisplayText string      `xml:"display-text,omitempty"`
	Type        string      `xml:"type,omitempty"`
	Label       string      `xml:"label,omitempty"`
	SrcID       string      `xml:"src-id,omitempty"`
	Status      MediaStatus `xml:"status,omitempty"`
	Ext         []Element   `xml:",any"`
}

// CallInfo is <call-info> (RFC 4575): the SIP dialog of the
// leg.
type CallInfo struct {
	Attrs []ExtAttr  `xml:",any,attr"`
	SIP   *SIPDialog `xml:"sip,omitempty"`
	Ext   []Element  `xml:",any"`
}

// SIPDialog identifies a SIP dialog (sip-dialog-id-type).
type SIPDialog struct {
	Attrs       []ExtAttr `xml:",any,attr"`
	DisplayText string    `xml:"display-text,omitempty"`
	CallID      string    `xml:"call-id"`
	FromTag     string    `xml:"from-tag"`
	ToTag       string    `xml:"to-tag"`
	Ext         []Element `xml:",any"`
}

// Sidebars is <sidebars-by-val> (RFC 4575): sidebar
// conferences described in place, keyed by entity.
type Sidebars struct {
	State   DocState  `xml:"state,attr,omitempty"`
	Attrs   []ExtAttr `xml:",any,attr"`
	Entries []Info    `xml:"entry"`
	Ext     []Element `xml:",any"`
}
