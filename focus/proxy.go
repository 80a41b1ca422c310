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
	target, code, reason, hdrs := f.ownerContact(req, a, "proxied")
	if code != 0 {
		return code, reason, hdrs
	}
	// RFC 3261 16.3 step 3.
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return sip.StatusTooManyHops, "Too Many Hops", nil
	}
	cancelled, ok := watchCancel(tx)
	if !ok {
		// sipgo already answered the CANCEL and the INVITE (487).
		f.metrics.calls.WithLabelValues("487").Inc()
		return 0, "", nil
	}
	p := &proxiedCall{f: f, req: req, tx: tx, callID: req.CallID().Value()}
	p.fwd = f.forwardedInvite(req, target.Address)
	ctp, err := f.sendToOwner(p.fwd)
	if err != nil {
		f.log.Warn("proxying a call to the room's owner failed", "call", p.callID, "target", p.fwd.Recipient.String(), "err", err)
		return sip.StatusServiceUnavailable, "Owner Node Unreachable", []sip.Header{f.retryAfter(0)}
	}
	f.log.Info("call proxied to the room's owner", "call", p.callID, "target", p.fwd.Recipient.String())
	p.ctp = ctp
	// Where the phone's answers go, as the focus answers it itself.
	p.tmpl = sip.NewResponseFromRequest(req, sip.StatusTrying, "Trying", nil)
	// RFC 6026 section 7.3: retransmissions of the 2xx go up too, the
	// phone's ACK going to the owner directly.
	ctp.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() && p.relay2xx.Load() {
			p.relay(r)
		}
	})
	return p.run(cancelled)
}

// watchCancel is where a CANCEL of the phone's INVITE is signalled; it
// reports false when the INVITE is already cancelled or its transaction
// gone.
func watchCancel(tx sip.ServerTransaction) (<-chan struct{}, bool) {
	cancelled := make(chan struct{}, 1)
	if !tx.OnCancel(func(*sip.Request) {
		select {
		case cancelled <- struct{}{}:
		default:
		}
	}) || txDone(tx) {
		return nil, false
	}
	return cancelled, true
}

// sendToOwner opens the client transaction of the forwarded INVITE,
// connecting to the owner first over TCP or TLS.
func (f *Focus) sendToOwner(fwd *sip.Request) (sip.ClientTransaction, error) {
	ctx, cancel := context.WithTimeout(f.stopCtx, proxyConnectWait)
	defer cancel()
	return f.client.TransactionRequest(ctx, fwd,
		sipgo.ClientRequestBuild, clearReliableLaddr, sipgo.ClientRequestAddVia)
}

// proxiedCall is one INVITE being relayed to the room's owner: the
// phone's server transaction, the owner's client transaction and where
// the relay stands.
type proxiedCall struct {
	f      *Focus
	req    *sip.Request
	tx     sip.ServerTransaction
	callID string
	fwd    *sip.Request
	ctp    sip.ClientTransaction
	tmpl   *sip.Response // addressed as the focus's own answers to the phone
	// relay2xx: the owner's 2xx was relayed, so are its retransmissions.
	relay2xx       atomic.Bool
	provisional    bool // the owner sent a provisional answer
	phoneCancelled bool // nothing but a 408 of ours goes to the phone any more
	cancelSent     bool
	giveUp         <-chan time.Time // the owner's final answer to a CANCEL
	timerC         *time.Timer
}

// run relays the owner's answers until the transaction ends, however it
// ends.
func (p *proxiedCall) run(cancelled <-chan struct{}) (int, string, []sip.Header) {
	answer := time.NewTimer(proxyAnswerWait)
	defer answer.Stop()
	p.timerC = time.NewTimer(proxyTimerC)
	defer p.timerC.Stop()
	for {
		select {
		case r := <-p.ctp.Responses():
			answer.Stop()
			if p.onResponse(r) {
				return 0, "", nil
			}
		case <-p.ctp.Done():
			return p.ownerSilent("room's owner did not answer a proxied call", "err", p.ctp.Err())
		case <-answer.C:
			p.ctp.Terminate()
			return p.ownerSilent("room's owner did not answer a proxied call in time", "wait", proxyAnswerWait)
		case <-p.timerC.C:
			// RFC 3261 16.8: cancel a branch ringing too long, and let
			// its 487 end the transaction; with no provisional at all
			// it is a timeout.
			if !p.provisional {
				p.ctp.Terminate()
				return sip.StatusRequestTimeout, "Request Timeout", nil
			}
			p.phoneCancelled = true
			p.sendCancel()
			p.f.reply(p.req, p.tx, sip.StatusRequestTimeout, "Request Timeout")
		case <-cancelled:
			// sipgo answered the CANCEL 200 and the INVITE 487 (RFC 3261
			// 16.10); the owner's own 487 is absorbed.
			p.phoneCancelled = true
			p.sendCancel()
		case <-p.giveUp:
			p.ctp.Terminate()
			return 0, "", nil
		case <-p.f.stopCtx.Done():
			p.ctp.Terminate()
			return sip.StatusServiceUnavailable, "Shutting Down", []sip.Header{p.f.retryAfter(0)}
		}
	}
}

// onResponse handles one answer of the owner and reports whether it was
// final.
func (p *proxiedCall) onResponse(r *sip.Response) bool {
	switch {
	case r.IsProvisional():
		p.provisional = true
		p.timerC.Reset(proxyTimerC)
		if p.phoneCancelled {
			p.sendCancel()
		} else if r.StatusCode > sip.StatusTrying { // 16.7 step 5: 100 is not forwarded
			p.relay(r)
		}
		return false
	case r.IsSuccess():
		p.f.metrics.calls.WithLabelValues("proxied").Inc()
		if p.phoneCancelled {
			// The answer crossed the CANCEL and the phone already has its
			// 487: end the owner's call rather than leave it waiting for
			// an ACK.
			p.f.spawn(func() { p.f.dropLateAnswer(p.fwd, r) })
			return true
		}
		p.relay2xx.Store(true)
		p.relay(r)
	default:
		// The client transaction ACKs a non-2xx final itself.
		p.f.metrics.calls.WithLabelValues("proxied").Inc()
		if !p.phoneCancelled {
			p.relay(r)
		}
	}
	return true
}

// ownerSilent is the caller's 503 when the owner gave no final answer,
// unless the phone has cancelled and has its answer already.
func (p *proxiedCall) ownerSilent(msg string, args ...any) (int, string, []sip.Header) {
	if p.phoneCancelled {
		return 0, "", nil
	}
	p.f.log.Warn(msg, append([]any{"call", p.callID, "target", p.fwd.Recipient.String()}, args...)...)
	return sip.StatusServiceUnavailable, "Owner Node Not Answering", []sip.Header{p.f.retryAfter(0)}
}

// relay sends one of the owner's answers on to the phone.
func (p *proxiedCall) relay(r *sip.Response) {
	out := r.Clone()
	out.RemoveHeader("Via") // ours, the top one (RFC 3261 16.7 step 3)
	if out.Via() == nil {
		p.f.log.Info("owner node answered without the caller's Via", "call", p.callID, "status", r.StatusCode)
		return
	}
	out.SetTransport(p.tmpl.Transport())
	out.SetDestination(p.tmpl.Destination())
	out.SetSource("")
	if err := p.tx.Respond(out); err != nil {
		p.f.log.Debug("relaying a response to the caller failed", "call", p.callID, "status", r.StatusCode, "err", err)
	}
}

// sendCancel cancels the owner's INVITE once it is ringing, and starts
// waiting for its final answer to that.
func (p *proxiedCall) sendCancel() {
	if p.giveUp == nil {
		p.giveUp = time.After(64 * sip.T1)
	}
	if p.provisional && !p.cancelSent { // RFC 3261 9.1: only once a provisional came
		p.cancelSent = true
		p.f.goCancel(p.fwd)
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
