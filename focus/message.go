package focus

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// maxMessageBody bounds a MESSAGE body (RFC 3428 section 7 suggests staying
// well under the path MTU; 64 KiB is generous for TCP).
const maxMessageBody = 64 << 10

// onMessage takes a MESSAGE (RFC 3428) sent in a call dialog or to a room
// URI and hands it to sync as an event; the focus itself relays nothing.
func (f *Focus) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	body := req.Body()
	if len(body) > maxMessageBody {
		f.reply(req, tx, sip.StatusRequestEntityTooLarge, "Message Too Large")
		return
	}
	ct := "text/plain"
	if h := req.ContentType(); h != nil {
		ct = strings.TrimSpace(h.Value())
	}
	var (
		roomName string
		facts    CallFacts
		callID   string
	)
	if toTag(req) != "" {
		l := f.inDialog(req, tx)
		if l == nil {
			return
		}
		roomName, facts, callID = l.room, l.facts, l.callID
	} else {
		name, token, ok := parseRoom(req.Recipient)
		if !ok || (f.cfg.RequireExistingRooms && !f.roomExists(name)) {
			f.reply(req, tx, sip.StatusNotFound, "No Such Conference")
			return
		}
		roomName = name
		facts = callFacts(req, name, token)
		callID = facts.CallID
	}
	// Events first, then the answer: a sender waiting for the 200 before
	// the next request then sees its requests handled in order.
	f.emit(Event{Kind: EventMessage, Room: roomName, CallID: callID, Call: facts, Text: body, ContentType: ct})
	f.reply(req, tx, sip.StatusOK, "OK")
}

// onInfo takes DTMF sent as SIP INFO: application/dtmf-relay ("Signal=5")
// or application/dtmf ("5").
func (f *Focus) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	l := f.inDialog(req, tx)
	if l == nil {
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.Split(h.Value(), ";")[0]))
	}
	var digit rune
	switch ct {
	case "application/dtmf-relay":
		for _, line := range strings.Split(string(req.Body()), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				digit = dtmfDigit(strings.TrimSpace(v))
			}
		}
	case "application/dtmf":
		digit = dtmfDigit(strings.TrimSpace(string(req.Body())))
	case "":
		// An empty INFO is a keep-alive some phones send: accept it.
		f.reply(req, tx, sip.StatusOK, "OK")
		return
	default:
		f.reply(req, tx, sip.StatusUnsupportedMediaType, "Unsupported Media Type",
			sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		return
	}
	if digit == 0 {
		f.reply(req, tx, sip.StatusBadRequest, "Bad Request: no DTMF digit in body")
		return
	}
	l.dtmf(digit)
	f.reply(req, tx, sip.StatusOK, "OK")
}

// dtmfDigit maps a DTMF signal ("0"-"9", "*", "#", "A"-"D", or the event
// codes 10 and 11 some phones send for * and #) to its digit, 0 if none.
func dtmfDigit(s string) rune {
	switch s {
	case "10":
		return '*'
	case "11":
		return '#'
	}
	if len(s) != 1 {
		return 0
	}
	c := rune(s[0])
	switch {
	case c >= '0' && c <= '9', c == '*', c == '#':
		return c
	case c >= 'A' && c <= 'D':
		return c
	case c >= 'a' && c <= 'd':
		return c - 'a' + 'A'
	}
	return 0
}
