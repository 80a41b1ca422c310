package focus

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"
)

// onInvite takes an initial INVITE to a room, or hands a re-INVITE to its leg.
func (f *Focus) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if toTag(req) != "" {
		f.onReinvite(req, tx)
		return
	}
	f.reply(req, tx, sip.StatusTrying, "Trying")
	code, reason, hdrs := f.answerInvite(req, tx)
	if code != 0 {
		outcome := strconv.Itoa(code)
		if code == sip.StatusMovedTemporarily {
			outcome = "moved" // sent to the room's owner node, not refused
		}
		f.metrics.calls.WithLabelValues(outcome).Inc()
		f.reply(req, tx, code, reason, hdrs...)
	}
}

// answerInvite runs an initial INVITE to its end. It returns a refusal to
// send, or 0 when the call was answered (or the transaction died).
func (f *Focus) answerInvite(req *sip.Request, tx sip.ServerTransaction) (int, string, []sip.Header) {
	c := &incomingCall{req: req}
	// Media before the room: a 488 costs nothing and must not reach the
	// hooks.
	for _, check := range []inviteCheck{
		f.checkCallRate,
		checkContact,
		checkRoomURI,
		checkRequire,
		f.checkSessionTimer,
		f.checkCodecs,
		f.checkOffer,
		f.checkMediaSecurity,
		f.checkOpen,
	} {
		if code, reason, hdrs := check(c); code != 0 {
			return code, reason, hdrs
		}
	}
	c.facts = callFacts(req, c.name, c.token)
	c.facts.Proxied = c.proxied
	c.facts.Media = c.neg.media()

	adm := f.admission(c.facts)
	switch {
	case (adm.Verdict == Moved || adm.Verdict == Proxy) && c.facts.Proxied:
		// Another node sent this call here as the owner: sending it on
		// could loop (CallFacts.Proxied).
		f.log.Warn("admission hook sent a proxied call on again", "call", c.facts.CallID, "room", c.name)
		return sip.StatusLoopDetected, "Loop Detected", nil
	case adm.Verdict == Proxy:
		return f.proxyInvite(req, tx, adm)
	}
	if code, reason, hdrs := f.verdictResponse(req, adm); code != 0 {
		return code, reason, hdrs
	}

	l := f.inviteLeg(c, adm)
	if code, reason, hdrs := f.attachMedia(c, l); code != 0 {
		return code, reason, hdrs
	}
	body, err := f.localSDP(c, l)
	if err != nil {
		l.finish("failed")
		return sip.StatusInternalServerError, "SDP Build Failed", nil
	}
	l.localSDP = body
	res := f.inviteOK(c, body)
	if !f.sendAnswer(tx, l, res) {
		return 0, "", nil
	}
	ack, ok := f.awaitAck(tx, res, l)
	l.acked()
	f.confirmCall(c, l, ack, ok)
	return 0, "", nil
}

// incomingCall is what answerInvite has learnt of an initial INVITE so far.
type incomingCall struct {
	req *sip.Request
	// proxied: forwarded by another bridge node the focus trusts.
	proxied     bool
	name, token string // the room and the caller's token, from the Request-URI
	se          time.Duration
	refresher   string // "uac" or "uas", when se > 0
	codecs      []Codec
	// offer is nil for an offerless INVITE: the focus offers in its 200
	// and takes the answer from the ACK.
	offer    *sdp.SessionDescription
	neg      negotiated
	facts    CallFacts
	localTag string
	// media is the leg's media, kept here because the leg forgets its own
	// when it ends, which may happen as soon as it is in its room.
	media MediaLeg
}

// inviteCheck refuses an initial INVITE (a non-zero code), or records in c
// what it learnt.
type inviteCheck func(c *incomingCall) (int, string, []sip.Header)

// checkCallRate limits calls per source address. A proxied INVITE was
// rate-limited by the node it reached, as coming from the phone; here it
// comes from that node, with everyone else's.
func (f *Focus) checkCallRate(c *incomingCall) (int, string, []sip.Header) {
	src := sourceAddr(c.req)
	c.proxied = f.proxiedByNode(c.req, src.Addr())
	if !c.proxied && !f.limiter.allow(src.Addr(), time.Now()) {
		return sip.StatusServiceUnavailable, "Too Many Calls From Your Address",
			[]sip.Header{sip.NewHeader("Retry-After", "1")}
	}
	return 0, "", nil
}

func checkContact(c *incomingCall) (int, string, []sip.Header) {
	if c.req.Contact() == nil {
		return sip.StatusBadRequest, "Bad Request: INVITE without Contact", nil
	}
	return 0, "", nil
}

func checkRoomURI(c *incomingCall) (int, string, []sip.Header) {
	var ok bool
	if c.name, c.token, ok = parseRoom(c.req.Recipient); !ok {
		return sip.StatusNotFound, "No Such Conference", nil
	}
	return 0, "", nil
}

// checkRequire refuses any required extension but supportedExt (RFC 3261
// 8.2.2.3).
func checkRequire(c *incomingCall) (int, string, []sip.Header) {
	h := c.req.GetHeader("Require")
	if h == nil {
		return 0, "", nil
	}
	for _, ext := range splitList(h.Value()) {
		if ext != supportedExt {
			return sip.StatusBadExtension, "Bad Extension", []sip.Header{sip.NewHeader("Unsupported", ext)}
		}
	}
	return 0, "", nil
}

func (f *Focus) checkSessionTimer(c *incomingCall) (int, string, []sip.Header) {
	se, refresher, code, hdr := f.sessionTimer(c.req)
	if code != 0 {
		return code, "Session Interval Too Small", []sip.Header{hdr}
	}
	c.se, c.refresher = se, refresher
	return 0, "", nil
}

func (f *Focus) checkCodecs(c *incomingCall) (int, string, []sip.Header) {
	c.codecs = f.cfg.Media.Codecs()
	if len(c.codecs) == 0 {
		return sip.StatusServiceUnavailable, "No Codecs", []sip.Header{f.retryAfter(0)}
	}
	return 0, "", nil
}

// checkOffer negotiates the INVITE's SDP offer, if it has one.
func (f *Focus) checkOffer(c *incomingCall) (int, string, []sip.Header) {
	body := c.req.Body()
	if len(body) == 0 {
		return 0, "", nil
	}
	if ct := c.req.ContentType(); ct != nil && !strings.EqualFold(strings.TrimSpace(strings.Split(ct.Value(), ";")[0]), "application/sdp") {
		return sip.StatusUnsupportedMediaType, "Unsupported Media Type", []sip.Header{sip.NewHeader("Accept", "application/sdp")}
	}
	offer, err := parseSDP(body)
	if err == nil {
		c.neg, err = negotiate(offer, c.codecs, f.rtpAddr())
	}
	if err != nil {
		return f.notAcceptable(err)
	}
	c.offer = offer
	return 0, "", nil
}

// checkOpen refuses calls while the focus stops or the room closes.
func (f *Focus) checkOpen(c *incomingCall) (int, string, []sip.Header) {
	f.mu.Lock()
	stopped, closing := f.stopped, f.closing[c.name]
	f.mu.Unlock()
	switch {
	case stopped:
		return sip.StatusServiceUnavailable, "Shutting Down", []sip.Header{f.retryAfter(0)}
	case closing:
		return sip.StatusTemporarilyUnavailable, "Room Closing", nil
	}
	return 0, "", nil
}

// admission asks the admission hook about a call; without one, a call is
// accepted unless it is to a room that must already exist and does not.
func (f *Focus) admission(facts CallFacts) Admission {
	adm := Admission{Verdict: Accept}
	if f.cfg.Admit != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		adm = f.cfg.Admit(ctx, facts)
		cancel()
	} else if f.cfg.RequireExistingRooms && !f.roomExists(facts.Room) {
		adm.Verdict = UnknownRoom
	}
	return adm
}

// inviteLeg is the leg of an admitted call, with its UAS dialog and what
// the admission decided, not yet with media.
func (f *Focus) inviteLeg(c *incomingCall, adm Admission) *leg {
	l := newLeg(f, c.name, c.facts)
	if adm.DisplayName != "" {
		l.display = adm.DisplayName
	}
	l.focusMute, l.focusDeaf = adm.Muted, adm.Deaf
	c.localTag = newTag()
	l.dlg = uasDialog(c.req, c.localTag)
	l.timerSE, l.uasRefr = c.se, c.refresher == "uas"
	return l
}

// attachMedia gives l a media leg and a place in its room, or the refusal
// when either is not to be had.
func (f *Focus) attachMedia(c *incomingCall, l *leg) (int, string, []sip.Header) {
	mcfg := MediaLegConfig{Room: c.name, Codec: c.neg.Codec, TelephoneEvent: c.neg.TelephoneEvent, Remote: c.neg.Remote, SRTP: c.neg.srtpKeys(),
		BehindNAT: sourceAddr(c.req).Addr().Unmap() != c.neg.Remote.Addr().Unmap()}
	if c.offer == nil {
		mcfg.Codec = c.codecs[0]
	}
	media, err := f.cfg.Media.AddLeg(mcfg)
	if err != nil {
		f.log.Warn("no media leg for call", "room", c.name, "err", err)
		return sip.StatusServiceUnavailable, "No Media Ports", []sip.Header{f.retryAfter(0)}
	}
	l.media, c.media = media, media
	l.neg = c.neg
	if code, reason := f.admitLeg(l); code != 0 {
		media.Close()
		var hdrs []sip.Header
		if code == sip.StatusServiceUnavailable || code == sip.StatusBusyHere {
			hdrs = append(hdrs, f.retryAfter(0))
		}
		return code, reason, hdrs
	}
	if c.offer != nil {
		media.SetHold(c.neg.Direction.held())
	}
	l.applyMute()
	return 0, "", nil
}

// localSDP is the focus's answer to the INVITE's offer, or its own offer
// when the INVITE had none.
func (f *Focus) localSDP(c *incomingCall, l *leg) ([]byte, error) {
	local := f.sdpAddr(c.media)
	if c.offer != nil {
		return buildAnswer(c.offer, c.neg, local, l.origin)
	}
	return buildOffer(f.offerCodecs(c.codecs), local, l.origin, SendRecv)
}

// inviteOK is the 200 that answers the INVITE and forms the dialog.
func (f *Focus) inviteOK(c *incomingCall, body []byte) *sip.Response {
	res := sdpResponse(c.req, body)
	res.To().Params.Add("tag", c.localTag)
	f.addDialogHeaders(res, c.name, c.req.Transport())
	if c.se > 0 {
		res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(c.se.Seconds()), c.refresher)))
		if c.refresher == "uac" {
			res.AppendHeader(sip.NewHeader("Require", "timer"))
		}
	}
	return res
}

// sendAnswer sends the 200 unless the call ended while it was being set
// up; it reports whether it did.
func (f *Focus) sendAnswer(tx sip.ServerTransaction, l *leg, res *sip.Response) bool {
	if !l.transition(legAnswered) {
		l.finish("failed")
		return false
	}
	// A CANCEL that came while the call was being set up already got its
	// 487 from sipgo; one that comes now races the 200 (RFC 3261 9.2).
	if !tx.OnCancel(func(*sip.Request) { go l.finish("departed") }) || txDone(tx) {
		f.metrics.calls.WithLabelValues("487").Inc()
		l.finish("departed")
		return false
	}
	f.respond(tx, res)
	return true
}

// confirmCall connects an answered call once its ACK came (ok), taking the
// caller's answer from the ACK when the focus made the offer.
func (f *Focus) confirmCall(c *incomingCall, l *leg, ack *sip.Request, ok bool) {
	if !ok {
		// RFC 3261 13.3.1.4: no ACK in 64*T1, so the session ends with a BYE.
		if l.getState() == legAnswered {
			f.metrics.calls.WithLabelValues("no_ack").Inc()
			l.hangup(context.Background(), "failed", "no ACK")
		}
		return
	}
	if c.offer == nil {
		if err := l.applyAnswer(ack.Body(), c.codecs); err != nil {
			f.log.Info("offerless INVITE: bad answer in ACK", "call", l.callID, "err", err)
			f.metrics.calls.WithLabelValues("bad_ack_sdp").Inc()
			l.hangup(context.Background(), "failed", "unacceptable SDP in ACK")
			return
		}
	}
	f.metrics.calls.WithLabelValues("answered").Inc()
	l.connected()
}

// connected moves a freshly acknowledged leg to connected or on-hold and
// tells sync it joined.
func (l *leg) connected() {
	l.mu.Lock()
	held := l.neg.Direction.held()
	l.mu.Unlock()
	next := legConnected
	if held {
		next = legHeld
	}
	if !l.transition(next) {
		return
	}
	l.markJoined()
	l.f.log.Info("call joined", "call", l.callID, "room", l.room, "from", l.facts.From)
	l.f.emit(Event{Kind: EventJoined, Room: l.room, CallID: l.callID, Call: l.facts})
	if held {
		l.f.emit(Event{Kind: EventHold, Room: l.room, CallID: l.callID, Call: l.facts, Held: true})
	}
	l.startSessionTimer()
}

// applyAnswer takes the answer to an offer the focus made (in an ACK or a
// 2xx) and points the media leg at it.
func (l *leg) applyAnswer(body []byte, codecs []Codec) error {
	if len(body) == 0 {
		return errors.New("expected an SDP answer, got an empty body")
	}
	n, err := parseAnswer(body, l.f.offerCodecs(codecs), l.f.rtpAddr())
	if err != nil {
		return err
	}
	l.mu.Lock()
	m := l.media
	l.neg = n
	l.mu.Unlock()
	if m == nil {
		return errors.New("leg has no media")
	}
	if err := m.Update(MediaLegConfig{Room: l.room, Codec: n.Codec, TelephoneEvent: n.TelephoneEvent, Remote: n.Remote}); err != nil {
		return fmt.Errorf("updating media leg: %w", err)
	}
	m.SetHold(n.Direction.held())
	return nil
}

// sdpResponse is a 200 carrying an SDP body with its Content-Type.
func sdpResponse(req *sip.Request, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	if len(body) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

func txDone(tx sip.ServerTransaction) bool {
	select {
	case <-tx.Done():
		return true
	default:
		return false
	}
}

// awaitAck retransmits a 2xx over unreliable transports until its ACK
// comes (RFC 3261 13.3.1.4, RFC 6026), for at most 64*T1.
func (f *Focus) awaitAck(tx sip.ServerTransaction, res *sip.Response, l *leg) (*sip.Request, bool) {
	seq := res.CSeq().SeqNo
	reliable := sip.IsReliable(res.Transport())
	interval := sip.T1
	retransmit := time.NewTimer(interval)
	defer retransmit.Stop()
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	for {
		select {
		case ack := <-l.acks:
			if ack.CSeq().SeqNo == seq {
				return ack, true
			}
		case <-retransmit.C:
			if !reliable {
				_ = tx.Respond(res)
				interval = min(2*interval, sip.T2)
			}
			retransmit.Reset(interval)
		case <-deadline.C:
			return nil, false
		case <-l.done:
			return nil, false
		}
	}
}

func (f *Focus) onAck(req *sip.Request, _ sip.ServerTransaction) {
	l := f.legByKey(keyOf(req))
	if l == nil {
		return
	}
	select {
	case l.acks <- req:
	default:
	}
}

// notAcceptable turns an SDP error into a 488 with a Warning (RFC 3261
// 21.4.26, 20.43).
func (f *Focus) notAcceptable(err error) (int, string, []sip.Header) {
	var se *sdpError
	if !errors.As(err, &se) {
		se = &sdpError{warnMisc, err.Error()}
	}
	text := strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, se.Text)
	if len(text) > 200 {
		text = text[:200]
	}
	host := f.hostname(f.Addr())
	return sip.StatusNotAcceptableHere, "Not Acceptable Here",
		[]sip.Header{sip.NewHeader("Warning", fmt.Sprintf(`%d %s "%s"`, se.Warning, host, text))}
}

// verdictResponse maps an admission verdict to its SIP answer.
func (f *Focus) verdictResponse(req *sip.Request, a Admission) (int, string, []sip.Header) {
	pick := func(def string) string {
		if a.Reason != "" {
			return a.Reason
		}
		return def
	}
	switch a.Verdict {
	case Accept:
		return 0, "", nil
	case UnknownRoom:
		return sip.StatusNotFound, pick("No Such Conference"), nil
	case Forbidden:
		return sip.StatusForbidden, pick("Forbidden"), nil
	case RoomFull:
		return sip.StatusBusyHere, pick("Room Full"), []sip.Header{f.retryAfter(a.RetryAfter)}
	case NodeFull:
		return sip.StatusServiceUnavailable, pick("Node Full"), []sip.Header{f.retryAfter(a.RetryAfter)}
	case RoomClosing:
		return sip.StatusTemporarilyUnavailable, pick("Room Closing"), nil
	case NeedsEncryption:
		return sip.StatusNotAcceptableHere, pick("Not Acceptable Here (encrypted media only)"),
			[]sip.Header{sip.NewHeader("Warning", fmt.Sprintf(`%d %s "%s"`, warnTransport, f.hostname(f.Addr()), "this room takes RTP/SAVP with SDES keys over TLS only"))}
	case Moved:
		c, code, reason, hdrs := f.ownerContact(req, a, "moved")
		if code != 0 {
			return code, reason, hdrs
		}
		return sip.StatusMovedTemporarily, pick("Moved Temporarily"), []sip.Header{c}
	}
	return sip.StatusForbidden, pick("Forbidden"), nil
}

// ownerContact is where a Moved or Proxy verdict (verb says which, for the
// log) sends the call, or the refusal when the Request-URI's user part or
// the verdict's Contact cannot make a Contact.
func (f *Focus) ownerContact(req *sip.Request, a Admission, verb string) (*sip.ContactHeader, int, string, []sip.Header) {
	if !validURIUser(req.Recipient.User) {
		return nil, sip.StatusBadRequest, "Bad Request: Request-URI user part", nil
	}
	c, err := redirectContact(req.Recipient.User, a.Contact)
	if err != nil {
		f.log.Error("admission hook "+verb+" a call to an unusable Contact",
			"call", req.CallID().Value(), "contact", a.Contact, "err", err)
		return nil, sip.StatusInternalServerError, "Server Internal Error", nil
	}
	return c, 0, "", nil
}

// redirectContact is the Contact of a 302 sending a caller to another
// node: the Request-URI's user part (the room, with any +token, so the
// caller lands in the same room and keeps its binding) at the host, port
// and URI parameters of target, a sip: or sips: URI such as
// sip:10.0.0.7:5060;transport=tcp. A user part in target is replaced.
func redirectContact(user, target string) (*sip.ContactHeader, error) {
	if strings.ContainsFunc(target, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == '"'
	}) {
		return nil, fmt.Errorf("expected a bare sip: or sips: URI, got %q with spaces, brackets or quotes", target)
	}
	var u sip.Uri
	if err := sip.ParseUri(target, &u); err != nil {
		return nil, fmt.Errorf("expected a sip: or sips: URI, got %q: %w", target, err)
	}
	switch {
	case u.Scheme != "sip" && u.Scheme != "sips":
		return nil, fmt.Errorf("expected a sip: or sips: URI, got scheme %q in %q", u.Scheme, target)
	case !validURIHost(u.Host):
		return nil, fmt.Errorf("expected an IP address or host name in %q, got host %q", target, u.Host)
	case u.Port < 0 || u.Port > 65535:
		return nil, fmt.Errorf("expected a port in 1-65535 in %q, got %d", target, u.Port)
	case u.Password != "" || (u.Headers != nil && u.Headers.Length() > 0):
		return nil, fmt.Errorf("expected a URI without password or headers, got %q", target)
	}
	u.User = user
	return &sip.ContactHeader{Address: u}, nil
}

// uriHostRE matches a host name (RFC 3261 hostname, loosely).
var uriHostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// validURIHost accepts an IP literal (IPv6 in brackets) or a host name.
func validURIHost(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		return err == nil && a.Is6()
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Is4()
	}
	return uriHostRE.MatchString(h)
}

// validURIUser reports whether a Request-URI user part can be written back
// into a Contact unchanged: RFC 3261 user characters (unreserved,
// user-unreserved and %-escapes) only. sipgo takes everything before the @.
func validURIUser(u string) bool {
	if u == "" {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0:
		case c == '%':
			if i+2 >= len(u) || !isHex(u[i+1]) || !isHex(u[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (f *Focus) retryAfter(d time.Duration) sip.Header {
	if d <= 0 {
		d = f.cfg.RetryAfter
	}
	return sip.NewHeader("Retry-After", strconv.Itoa(max(1, int(d.Seconds()))))
}

// addDialogHeaders puts the headers of every dialog-forming answer:
// Contact with isfocus (RFC 4579), and the exact Allow and Supported.
func (f *Focus) addDialogHeaders(res *sip.Response, roomName, transport string) {
	res.AppendHeader(f.contact(roomName, transport))
	res.AppendHeader(sip.NewHeader("Allow", f.allowHdr))
	res.AppendHeader(sip.NewHeader("Supported", supportedExt))
	res.AppendHeader(sip.NewHeader("Allow-Events", "conference, refer"))
}

// rtpAddr is the address family and address the focus's SDP uses.
func (f *Focus) rtpAddr() netip.Addr {
	if f.cfg.RTPAddress.IsValid() {
		return f.cfg.RTPAddress
	}
	return f.Addr().Addr()
}

// sdpAddr is the RTP address written for a media leg: the configured
// advertised address with the leg's port.
func (f *Focus) sdpAddr(m MediaLeg) netip.AddrPort {
	la := m.LocalAddr()
	if f.cfg.RTPAddress.IsValid() {
		return netip.AddrPortFrom(f.cfg.RTPAddress, la.Port())
	}
	if !la.Addr().IsValid() || la.Addr().IsUnspecified() {
		return netip.AddrPortFrom(f.Addr().Addr(), la.Port())
	}
	return la
}

// offerCodecs gives the codecs for the focus's own offers, with payload
// types that do not collide with the telephone-event ones.
func (f *Focus) offerCodecs(codecs []Codec) []Codec {
	out := make([]Codec, 0, len(codecs))
	for _, c := range codecs {
		if c.PayloadType == 0 && !strings.EqualFold(c.Name, "PCMU") {
			continue
		}
		out = append(out, c)
	}
	return out
}

// proxiedByNode reports whether req was forwarded by another bridge node:
// it carries ProxiedHeader and comes from an address the node trusts.
func (f *Focus) proxiedByNode(req *sip.Request, src netip.Addr) bool {
	return req.GetHeader(ProxiedHeader) != nil && f.cfg.TrustProxied != nil && f.cfg.TrustProxied(src.Unmap())
}

// callFacts gathers what sync needs to know about a caller.
func callFacts(req *sip.Request, roomName, token string) CallFacts {
	from := req.From()
	cf := CallFacts{
		Room:        roomName,
		Token:       token,
		CallID:      req.CallID().Value(),
		From:        from.Address.Addr(),
		DisplayName: from.DisplayName,
		Source:      sourceAddr(req),
		Secure:      strings.EqualFold(req.Transport(), "TLS"),
	}
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		cf.AssertedIdentity = strings.Trim(strings.TrimSpace(strings.Split(h.Value(), ",")[0]), "<>")
		if i := strings.Index(cf.AssertedIdentity, "<"); i >= 0 {
			cf.AssertedIdentity = strings.Trim(cf.AssertedIdentity[i:], "<>")
		}
	}
	for _, h := range req.GetHeaders("Call-Info") {
		cf.IMPP = append(cf.IMPP, imppURIs(h.Value())...)
	}
	return cf
}

// imppURIs picks the purpose=impp URIs of a Call-Info value (RFC 6993).
func imppURIs(v string) []string {
	var out []string
	for _, part := range splitList(v) {
		uri, params, ok := strings.Cut(part, ">")
		if !ok || !strings.HasPrefix(uri, "<") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "purpose") && strings.EqualFold(strings.Trim(val, `"`), "impp") {
				out = append(out, uri[1:])
			}
		}
	}
	return out
}

// splitList splits a comma-separated header value, keeping commas inside
// <> and quotes.
func splitList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i, r := range v {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '<':
			depth++
		case r == '>':
			depth--
		case r == ',' && depth == 0:
			if s := strings.TrimSpace(v[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}
