package focus

import (
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// statusUnsupportedURIScheme is 416, which sipgo has no constant for.
const statusUnsupportedURIScheme = 416

// knownMethods are the RFC 3261 family methods the focus recognises but
// does not serve: they get 405 with Allow (RFC 3261 section 8.2.1), every
// other unserved method 501 Not Implemented (section 21.5.2).
var knownMethods = map[sip.RequestMethod]bool{sip.REGISTER: true, sip.PRACK: true, sip.PUBLISH: true, sip.NOTIFY: true}

// singleValued are the header fields RFC 3261 section 7.3.1 allows only
// once; a second value makes the request ambiguous (RFC 4475 3.3.8, 3.3.9).
var singleValued = []string{"To", "From", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}

// refusal is a final answer the request-level checks give instead of the
// method's handler.
type refusal struct {
	code   int
	reason string
	hdrs   []sip.Header
}

// checkRequest runs the RFC 3261 section 8.2 inspections a UAS makes
// before any method handler, in the RFC's order: version, method, headers,
// Request-URI, extensions, and for INVITE the Accept the 200's SDP must
// fit. It returns nil for a request the handler may take.
func (f *Focus) checkRequest(req *sip.Request) *refusal {
	if req.SipVersion != "SIP/2.0" {
		return &refusal{code: sip.StatusVersionNotSupported, reason: "Version Not Supported"}
	}
	if !slices.Contains(allowed, req.Method) {
		allow := []sip.Header{sip.NewHeader("Allow", f.allowHdr)}
		if knownMethods[req.Method] {
			return &refusal{sip.StatusMethodNotAllowed, "Method Not Allowed", allow}
		}
		return &refusal{sip.StatusNotImplemented, "Not Implemented", allow}
	}
	for _, name := range singleValued {
		if len(req.GetHeaders(name)) > 1 {
			return &refusal{code: sip.StatusBadRequest, reason: "Bad Request: more than one " + name}
		}
	}
	if !validRequest(req) {
		return &refusal{code: sip.StatusBadRequest, reason: "Bad Request: missing From tag, To, Call-ID, CSeq or Via, or a CSeq of another method"}
	}
	if s := strings.ToLower(req.Recipient.Scheme); s != "sip" && s != "sips" {
		return &refusal{code: statusUnsupportedURIScheme, reason: "Unsupported URI Scheme"}
	}
	if req.Recipient.Headers.Length() > 0 {
		// RFC 3261 19.1.1, table 1: headers are not allowed in a Request-URI.
		return &refusal{code: sip.StatusBadRequest, reason: "Bad Request: headers in the Request-URI"}
	}
	// An initial INVITE's Require is answered by answerInvite, after the
	// per-address rate limit (docs/design/04_focus.md, admission order).
	if req.Method != sip.CANCEL && !(req.IsInvite() && toTag(req) == "") {
		if bad := unsupportedExtensions(req); len(bad) > 0 {
			return &refusal{sip.StatusBadExtension, "Bad Extension", []sip.Header{sip.NewHeader("Unsupported", strings.Join(bad, ", "))}}
		}
	}
	if req.IsInvite() && !acceptsSDP(req) {
		return &refusal{sip.StatusNotAcceptable, "Not Acceptable", []sip.Header{sip.NewHeader("Accept", "application/sdp")}}
	}
	return nil
}

// unsupportedExtensions lists the option tags of every Require header the
// focus does not support (RFC 3261 section 8.2.2.3).
func unsupportedExtensions(req *sip.Request) []string {
	var bad []string
	for _, h := range req.GetHeaders("Require") {
		for _, ext := range splitList(h.Value()) {
			if !strings.EqualFold(ext, supportedExt) {
				bad = append(bad, ext)
			}
		}
	}
	return bad
}

// acceptsSDP reports whether the INVITE's Accept headers, if any, allow the
// application/sdp answer the focus sends (RFC 3261 section 20.1: an empty
// Accept accepts nothing; RFC 4475 3.3.15).
func acceptsSDP(req *sip.Request) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, r := range splitList(h.Value()) {
			mt, _, _ := strings.Cut(r, ";")
			switch strings.ToLower(strings.Join(strings.Fields(mt), "")) {
			case "application/sdp", "application/*", "*/*":
				return true
			}
		}
	}
	return false
}

// validRequest checks the headers RFC 3261 section 8.1.1 makes mandatory.
// The From tag is optional for an RFC 2543 request (RFC 3261 section
// 12.1.1 keeps an empty remote tag for it); the CSeq method is compared
// without case because sipgo upper-cases the Request-Line's method.
func validRequest(req *sip.Request) bool {
	from, to, cseq := req.From(), req.To(), req.CSeq()
	if from == nil || to == nil || cseq == nil || req.CallID() == nil || req.Via() == nil {
		return false
	}
	if tag, _ := from.Params.Get("tag"); tag == "" && !fromRFC2543(req) {
		return false
	}
	return strings.EqualFold(string(cseq.MethodName), string(req.Method))
}

// adaptRFC2543 gives an RFC 2543 INVITE without Contact the From address
// as its remote target, as RFC 2543 section 6.13 did.
func adaptRFC2543(req *sip.Request) {
	if !req.IsInvite() || req.Contact() != nil || !fromRFC2543(req) {
		return
	}
	if from := req.From(); from != nil {
		req.AppendHeader(&sip.ContactHeader{Address: *from.Address.Clone(), Params: sip.NewParams()})
	}
}

// sipsContact makes the focus's Contact in a response to a sips: request a
// sips: URI (RFC 3261 section 12.1.1); contact builds sip: URIs, which a
// caller that dialled sip:...;transport=tls needs to send its ACK to.
func sipsContact(req *sip.Request, res *sip.Response) {
	c := res.Contact()
	if req == nil || c == nil || !c.Params.Has("isfocus") || !strings.EqualFold(req.Recipient.Scheme, "sips") {
		return
	}
	c.Address.Scheme = "sips"
	c.Address.UriParams.Remove("transport")
}
