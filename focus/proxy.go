package focus

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

const (
	// proxyAnswerWait bounds how long a forwarded INVITE may go without
	// any answer, not even 100 Trying, before the owner node is taken for
	// dead and the caller gets 503. A focus answers 100 at once, so this is
	// far below Timer B (64*T1): a caller should not hear 32 s of silence
	// because a node died. UDP retransmits the INVITE three times in it.
	proxyAnswerWait = 4 * time.Second
	// proxyTimerC is RFC 3261 section 16.6's Timer C: an INVITE still
	// without a final answer this long after its last provisional one is
	// cancelled.
	proxyTimerC = 3*time.Minute + time.Second
	// proxyConnectWait bounds opening a connection (TCP, TLS) to the owner.
	proxyConnectWait = 5 * time.Second
)

// proxyInvite forwards an initial INVITE to the node named by a Proxy
// verdict and relays its answers, as a transaction-stateful proxy (RFC 3261
// section 16) that adds no Record-Route: the phone then talks to the owner
// directly for the rest of the dialog. It returns a refusal to send when
// the INVITE could not be forwarded or the owner did not answer, and 0 once
// the owner's final answer was relayed (or absorbed, the phone having
// cancelled).
func (f *Focus) proxyInvite(req *sip.Request, tx sip.ServerTransaction, a Admission) (int, string, []sip.Header) {
	callID := req.CallID().Value()
	if !validURIUser(req.Recipient.User) {
		return sip.StatusBadRequest, "Bad Request: Request-URI user part", nil
	}
	target, err := redirectContact(req.Recipient.User, a.Contact)
	if err != nil {
		f.log.Error("admission hook proxied a call to an unusable Contact",
			"call", callID, "contact", a.Contact, "err", err)
		return sip.StatusInternalServerError, "Server Internal Error", nil
	}
	// RFC 3261 16.3 step 3.
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return sip.StatusTooManyHops, "Too Many Hops", nil
	}

	cancelled := make(chan struct{}, 1)
	if !tx.OnCancel(func(*sip.Request) {
		select {
		case cancelled <- struct{}{}:
		default:
		}
	}) || txDone(tx) {
		// sipgo already answered the CANCEL and the INVITE (487).
		f.metrics.calls.WithLabelValues("487").Inc()
		return 0, "", nil
	}

	fwd := f.forwardedInvite(req, target.Address)
	ctx, cancelConnect := context.WithTimeout(f.stopCtx, proxyConnectWait)
	ctp, err := f.client.TransactionRequest(ctx, fwd,
		sipgo.ClientRequestBuild, clearReliableLaddr, sipgo.ClientRequestAddVia)
	cancelConnect()
	if err != nil {
		f.log.Warn("proxying a call to the room's owner failed", "call", callID, "target", fwd.Recipient.String(), "err", err)
		return sip.StatusServiceUnavailable, "Owner Node Unreachable", []sip.Header{f.retryAfter(0)}
	}
	f.log.Info("call proxied to the room's owner", "call", callID, "target", fwd.Recipient.String())

	// Where the phone's answers go, as the focus answers it itself.
	tmpl := sip.NewResponseFromRequest(req, sip.StatusTrying, "Trying", nil)
	relay := func(r *sip.Response) {
		out := r.Clone()
		out.RemoveHeader("Via") // ours, the top one (RFC 3261 16.7 step 3)
		if out.Via() == nil {
			f.log.Info("owner node answered without the caller's Via", "call", callID, "status", r.StatusCode)
			return
		}
		out.SetTransport(tmpl.Transport())
		out.SetDestination(tmpl.Destination())
		out.SetSource("")
		if err := tx.Respond(out); err != nil {
			f.log.Debug("relaying a response to the caller failed", "call", callID, "status", r.StatusCode, "err", err)
		}
	}
	// RFC 6026 section 7.3: retransmissions of the 2xx go up too, the
	// phone's ACK going to the owner directly.
	var relay2xx atomic.Bool
	ctp.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() && relay2xx.Load() {
			relay(r)
		}
	})

	answer := time.NewTimer(proxyAnswerWait)
	defer answer.Stop()
	timerC := time.NewTimer(proxyTimerC)
	defer timerC.Stop()
	var provisional, phoneCancelled, cancelSent bool
	var giveUp <-chan time.Time // the owner's final answer to a CANCEL
	sendCancel := func() {
		if giveUp == nil {
			giveUp = time.After(64 * sip.T1)
		}
		if provisional && !cancelSent { // RFC 3261 9.1: only once a provisional came
			cancelSent = true
			f.goCancel(fwd)
		}
	}
	for {
		select {
		case r := <-ctp.Responses():
			answer.Stop()
			switch {
			case r.IsProvisional():
				provisional = true
				timerC.Reset(proxyTimerC)
				if phoneCancelled {
					sendCancel()
				} else if r.StatusCode > sip.StatusTrying { // 16.7 step 5: 100 is not forwarded
					relay(r)
				}
			case r.IsSuccess():
				f.metrics.calls.WithLabelValues("proxied").Inc()
				if phoneCancelled {
					// The answer crossed the CANCEL and the phone already
					// has its 487: end the owner's call rather than leave
					// it waiting for an ACK.
					f.spawn(func() { f.dropLateAnswer(fwd, r) })
					return 0, "", nil
				}
				relay2xx.Store(true)
				relay(r)
				return 0, "", nil
			default:
				// The client transaction ACKs a non-2xx final itself.
				f.metrics.calls.WithLabelValues("proxied").Inc()
				if !phoneCancelled {
					relay(r)
				}
				return 0, "", nil
			}
		case <-ctp.Done():
			if phoneCancelled {
				return 0, "", nil
			}
			f.log.Warn("room's owner did not answer a proxied call", "call", callID, "target", fwd.Recipient.String(), "err", ctp.Err())
			return sip.StatusServiceUnavailable, "Owner Node Not Answering", []sip.Header{f.retryAfter(0)}
		case <-answer.C:
			ctp.Terminate()
			if phoneCancelled {
				return 0, "", nil
			}
			f.log.Warn("room's owner did not answer a proxied call in time", "call", callID, "target", fwd.Recipient.String(), "wait", proxyAnswerWait)
			return sip.StatusServiceUnavailable, "Owner Node Not Answering", []sip.Header{f.retryAfter(0)}
		case <-timerC.C:
			// RFC 3261 16.8: cancel a branch ringing too long, and let
			// its 487 end the transaction; with no provisional at all
			// it is a timeout.
			if !provisional {
				ctp.Terminate()
				return sip.StatusRequestTimeout, "Request Timeout", nil
			}
			phoneCancelled = true // nothing more goes to the phone but this 408
			sendCancel()
			f.reply(req, tx, sip.StatusRequestTimeout, "Request Timeout")
		case <-cancelled:
			// sipgo answered the CANCEL 200 and the INVITE 487 (RFC 3261
			// 16.10); the owner's own 487 is absorbed.
			phoneCancelled = true
			sendCancel()
		case <-giveUp:
			ctp.Terminate()
			return 0, "", nil
		case <-f.stopCtx.Done():
			ctp.Terminate()
			return sip.StatusServiceUnavailable, "Shutting Down", []sip.Header{f.retryAfter(0)}
		}
	}
}

// forwardedInvite is the copy of req sent to the owner (RFC 3261 16.6):
// the Request-URI at the owner, Max-Forwards decremented, ProxiedHeader
// added; sipgo's ClientRequestAddVia then puts the focus's Via on top.
func (f *Focus) forwardedInvite(req *sip.Request, target sip.Uri) *sip.Request {
	fwd := req.Clone()
	fwd.Recipient = target
	fwd.SetTransport(uriTransport(target))
	fwd.SetDestination("") // from the Request-URI
	if mf := fwd.MaxForwards(); mf != nil {
		mf.Dec()
	} else {
		m := sip.MaxForwardsHeader(70)
		fwd.AppendHeader(&m)
	}
	fwd.RemoveHeader(ProxiedHeader)
	fwd.AppendHeader(sip.NewHeader(ProxiedHeader, "sip:"+f.Addr().String()))
	return fwd
}

// clearReliableLaddr lets TCP and TLS dial from an ephemeral port: the
// client's address is the focus's listening one, which UDP sends from but
// a new TCP connection cannot bind.
func clearReliableLaddr(_ *sipgo.Client, req *sip.Request) error {
	if sip.IsReliable(req.Transport()) {
		req.Laddr = sip.Addr{}
	}
	return nil
}

// dropLateAnswer ends a call the owner answered after the phone had
// cancelled: ACK the 2xx, then BYE (RFC 3261 15, 9.1).
func (f *Focus) dropLateAnswer(fwd *sip.Request, r *sip.Response) {
	d := uacDialog(fwd, r)
	ack := d.request(sip.ACK)
	ack.CSeq().SeqNo = fwd.CSeq().SeqNo
	if err := f.client.WriteRequest(ack, sipgo.ClientRequestBuild, clearReliableLaddr); err != nil {
		f.log.Debug("ACK of a late answer to a proxied call failed", "call", d.callID, "err", err)
	}
	bye := d.request(sip.BYE)
	bye.AppendHeader(sip.NewHeader("User-Agent", f.cfg.UserAgent))
	ctx, cancel := context.WithTimeout(f.stopCtx, 32*time.Second)
	defer cancel()
	if _, err := f.client.Do(ctx, bye, sipgo.ClientRequestBuild, clearReliableLaddr); err != nil {
		f.log.Debug("BYE of a late answer to a proxied call failed", "call", d.callID, "err", err)
	}
}
