package focus

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"
)

// inDialog finds the leg of an in-dialog request, answering 481 when there
// is none and 500 for an out-of-order CSeq.
func (f *Focus) inDialog(req *sip.Request, tx sip.ServerTransaction) *leg {
	l := f.legByKey(keyOf(req))
	if l == nil {
		f.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return nil
	}
	if !l.dlg.acceptRemoteSeq(req.CSeq().SeqNo) {
		f.reply(req, tx, sip.StatusInternalServerError, "CSeq Out Of Order")
		return nil
	}
	return l
}

// beginModify marks the leg busy with an offer/answer exchange; a second
// one at the same time gets 491 (RFC 3261 14.2).
func (l *leg) beginModify() (bool, legState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy || (l.state != legConnected && l.state != legHeld) {
		return false, l.state
	}
	l.busy = true
	return true, l.state
}

func (l *leg) endModify() {
	l.mu.Lock()
	l.busy = false
	l.mu.Unlock()
}

// onReinvite handles a re-INVITE: hold, resume, codec or address change,
// or a session refresh (RFC 3264 section 8, RFC 4028).
func (f *Focus) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	l := f.inDialog(req, tx)
	if l == nil {
		return
	}
	ok, state := l.beginModify()
	if !ok {
		if state == legAnswered || state == legConnected || state == legHeld {
			f.reply(req, tx, sip.StatusRequestPending, "Request Pending")
		} else {
			f.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
		return
	}
	f.reply(req, tx, sip.StatusTrying, "Trying")

	var offer *sdp.SessionDescription
	var answer []byte
	var err error
	if len(req.Body()) > 0 {
		if offer, err = parseSDP(req.Body()); err == nil {
			answer, err = l.modify(offer)
		}
		if err != nil {
			l.endModify()
			code, reason, hdrs := f.notAcceptable(err)
			f.reply(req, tx, code, reason, hdrs...)
			return
		}
	} else {
		// Offerless re-INVITE: the focus offers again, the answer comes in the ACK.
		answer = l.reoffer()
	}
	res := sdpResponse(req, answer)
	f.addDialogHeaders(res, l.room, req.Transport())
	f.sessionHeaders(l, req, res)
	f.respond(tx, res)
	ack, ok := f.awaitAck(tx, res, l)
	if !ok {
		l.endModify()
		if l.getState() != legEnded {
			l.hangup(context.Background(), "failed", "no ACK for re-INVITE")
		}
		return
	}
	if offer == nil {
		if err := l.applyAnswer(ack.Body(), f.cfg.Media.Codecs()); err != nil {
			l.endModify()
			l.hangup(context.Background(), "failed", "unacceptable SDP in ACK")
			return
		}
	}
	l.endModify()
	l.holdChanged()
	l.refreshed()
}

// onUpdate handles UPDATE (RFC 3311): an offer answered at once, or with
// no body a session refresh.
func (f *Focus) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	l := f.inDialog(req, tx)
	if l == nil {
		return
	}
	ok, _ := l.beginModify()
	if !ok {
		f.reply(req, tx, sip.StatusRequestPending, "Request Pending")
		return
	}
	var answer []byte
	if len(req.Body()) > 0 {
		offer, err := parseSDP(req.Body())
		if err == nil {
			answer, err = l.modify(offer)
		}
		if err != nil {
			l.endModify()
			code, reason, hdrs := f.notAcceptable(err)
			f.reply(req, tx, code, reason, hdrs...)
			return
		}
	}
	res := sdpResponse(req, answer)
	f.addDialogHeaders(res, l.room, req.Transport())
	f.sessionHeaders(l, req, res)
	l.endModify()
	if answer != nil {
		l.holdChanged()
	}
	f.respond(tx, res)
	l.refreshed()
}

// modify applies a new offer to the leg's media and returns the answer;
// on error nothing changed (RFC 3264 section 8: a rejected offer leaves the
// session as it was).
func (l *leg) modify(offer *sdp.SessionDescription) ([]byte, error) {
	f := l.f
	n, err := negotiate(offer, f.cfg.Media.Codecs(), f.rtpAddr())
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	m, prev := l.media, l.neg
	l.mu.Unlock()
	if m == nil {
		return nil, fmt.Errorf("leg %s has no media", l.callID)
	}
	if err := l.rekey(&n, prev); err != nil {
		return nil, err
	}
	if err := m.Update(MediaLegConfig{Room: l.room, Codec: n.Codec, TelephoneEvent: n.TelephoneEvent, Remote: n.Remote, SRTP: n.srtpKeys()}); err != nil {
		return nil, &sdpError{warnMisc, "media update failed: " + err.Error()}
	}
	m.SetHold(n.Direction.held())
	l.mu.Lock()
	l.neg = n
	l.origin.Version++
	o := l.origin
	l.mu.Unlock()
	ans, err := buildAnswer(offer, n, f.sdpAddr(m), o)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.localSDP = ans
	l.mu.Unlock()
	return ans, nil
}

// reoffer builds a fresh offer for an offerless re-INVITE.
func (l *leg) reoffer() []byte {
	l.mu.Lock()
	l.origin.Version++
	o, m := l.origin, l.media
	l.mu.Unlock()
	if m == nil {
		return nil
	}
	b, _ := buildOffer(l.f.offerCodecs(l.f.cfg.Media.Codecs()), l.f.sdpAddr(m), o, SendRecv)
	return b
}

// holdChanged moves the leg between connected and on-hold after an
// exchange and tells sync.
func (l *leg) holdChanged() {
	l.mu.Lock()
	held := l.neg.Direction.held()
	was := l.state == legHeld
	l.mu.Unlock()
	if held == was {
		return
	}
	next := legConnected
	if held {
		next = legHeld
	}
	if l.transition(next) {
		l.f.emit(Event{Kind: EventHold, Room: l.room, CallID: l.callID, Call: l.facts, Held: held})
	}
}

func (f *Focus) onBye(req *sip.Request, tx sip.ServerTransaction) {
	l := f.legByKey(keyOf(req))
	if l == nil {
		f.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	f.reply(req, tx, sip.StatusOK, "OK")
	l.finish("departed")
}

// onCancel sees only CANCELs that matched no INVITE transaction: sipgo
// answers the others itself (200, then 487 to the INVITE).
func (f *Focus) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	f.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

// sendReinvite is the focus's own re-INVITE, for session refreshes: it
// offers the current description again and applies the answer.
func (l *leg) sendReinvite(ctx context.Context) error {
	if ok, _ := l.beginModify(); !ok {
		return nil // an exchange is under way: it refreshes the session too
	}
	defer l.endModify()
	l.mu.Lock()
	body, dlg := l.localSDP, l.dlg
	l.mu.Unlock()
	req := dlg.request(sip.INVITE)
	req.SetBody(body)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(l.f.contact(l.room, req.Transport()))
	req.AppendHeader(sip.NewHeader("Allow", l.f.allowHdr))
	req.AppendHeader(sip.NewHeader("Supported", supportedExt))
	l.refreshHeaders(req)
	res, err := l.f.do(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode == sip.StatusRequestPending {
		return nil
	}
	if !res.IsSuccess() {
		return fmt.Errorf("re-INVITE answered %d %s", res.StatusCode, res.Reason)
	}
	ack := dlg.request(sip.ACK)
	ack.CSeq().SeqNo = req.CSeq().SeqNo
	if err := l.f.client.WriteRequest(ack); err != nil {
		return fmt.Errorf("sending ACK: %w", err)
	}
	if len(res.Body()) > 0 {
		if err := l.applyAnswer(res.Body(), l.f.cfg.Media.Codecs()); err != nil {
			return err
		}
		l.holdChanged()
	}
	return nil
}

// sendUpdate refreshes the session with a body-less UPDATE.
func (l *leg) sendUpdate(ctx context.Context) error {
	req := l.dlg.request(sip.UPDATE)
	req.AppendHeader(l.f.contact(l.room, req.Transport()))
	req.AppendHeader(sip.NewHeader("Supported", supportedExt))
	l.refreshHeaders(req)
	res, err := l.f.do(ctx, req)
	if err != nil {
		return err
	}
	if !res.IsSuccess() && res.StatusCode != sip.StatusRequestPending {
		return fmt.Errorf("UPDATE answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

func hasToken(list, token string) bool {
	for _, t := range splitList(list) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}
