package muc

// stanzaError is an RFC 6120 section 8.3 stanza error the service answers
// with. Handlers return one instead of replying themselves so that every
// refusal has the same shape and leaves the room unchanged.
type stanzaError struct {
	typ  string // cancel, auth, modify, wait
	cond string // a defined condition of urn:ietf:params:xml:ns:xmpp-stanzas
	text string
}

func (e *stanzaError) Error() string {
	if e.text != "" {
		return e.cond + ": " + e.text
	}
	return e.cond
}

func errBadRequest(text string) *stanzaError { return &stanzaError{"modify", "bad-request", text} }
func errNotAcceptable(text string) *stanzaError {
	return &stanzaError{"cancel", "not-acceptable", text}
}
func errForbidden(text string) *stanzaError    { return &stanzaError{"auth", "forbidden", text} }
func errNotAllowed(text string) *stanzaError   { return &stanzaError{"cancel", "not-allowed", text} }
func errItemNotFound(text string) *stanzaError { return &stanzaError{"cancel", "item-not-found", text} }
func errServiceUnavailable(text string) *stanzaError {
	return &stanzaError{"cancel", "service-unavailable", text}
}
func errJIDMalformed(text string) *stanzaError { return &stanzaError{"modify", "jid-malformed", text} }
func errConflict(text string) *stanzaError     { return &stanzaError{"cancel", "conflict", text} }
func errInternal(text string) *stanzaError {
	return &stanzaError{"wait", "internal-server-error", text}
}

// element renders the <error/> child; by is the JID generating the error.
func (e *stanzaError) element(by string) *element {
	el := newElem(nsClient, "error", "type", e.typ, "by", by)
	el.add(newElem(nsStanzas, e.cond))
	if e.text != "" {
		el.add(newElem(nsStanzas, "text").withText(e.text))
	}
	return el
}

// errorReply turns the stanza in into its error reply: addresses swapped,
// type error, the original payload kept for iq (RFC 6120 8.3.1 allows it)
// and dropped otherwise to avoid echoing large bodies.
func errorReply(in *element, e *stanzaError, by string) *element {
	out := newElem(nsClient, in.Name.Local, "from", in.attr("to"), "to", in.attr("from"), "id", in.attr("id"), "type", "error")
	if in.Name.Local == "presence" {
		out.add(newElem(NSMUC, "x"))
	}
	out.add(e.element(by))
	return out
}
