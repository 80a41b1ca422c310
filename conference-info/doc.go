// Package confinfo will model RFC 4575 conference-info documents, with the
// RFC 7106 grouptextchat service URI, versioned state and partial documents.
// It does no I/O.
package confinfo
