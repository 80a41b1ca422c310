// Package muc will be the XMPP Multi-User Chat service (XEP-0045) served as an
// external component (XEP-0114) of an existing XMPP server. It knows nothing
// of SIP.
package muc
