// Package confinfo implements the conference-info documents of the SIP
// conference event package (RFC 4575) as used by CUSAX Bridge: the whole
// document model, a namespace-correct deterministic encoder, a bounded
// decoder for untrusted input, a versioned conference State that produces
// full and partial documents, and the receiving side (Apply) that folds a
// partial document into a full copy.
//
// Every document the bridge sends advertises the room's chat face as a
// service-uris entry with purpose "grouptextchat" and an
// xmpp:<room>@<muc-domain>?join URI (RFC 7106, RFC 7081 section 4); see
// NewDescription and ChatURI. Chat-only occupants are users without an
// endpoint; phone legs are users with one audio endpoint (see AudioUser).
//
// Elements and attributes from other namespaces are kept verbatim through a
// decode/encode round trip (Element, ExtAttr).
//
// The package does no I/O: the focus package carries the documents in
// NOTIFY bodies with Content-Type application/conference-info+xml.
package confinfo
