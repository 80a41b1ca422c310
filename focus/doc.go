// Package focus will be the SIP conference focus (RFC 4353, RFC 4579): it
// answers INVITEs to sip:<room>@<sip-domain>, negotiates SDP, drives the mixer
// and serves the conference event package (RFC 4575). It knows nothing of XMPP.
package focus
