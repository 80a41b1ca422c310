package focus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// maxRing is how long a dial-out may ring before the focus gives up.
const maxRing = 60 * time.Second

// DialResult is how a dial-out ended up, reported to the done callback.
type DialResult struct {
	CallID string
	Status int // final SIP status (200 answered, 487 cancelled, 0 no answer)
	Err    error
}

// Dial calls target (a sip: or sips: URI) into a room, as RFC 4579 section
// 5.4 describes for a focus inviting a participant. It returns the new
// leg's Call-ID as soon as the INVITE is sent: the leg is visible as
// dialing-out, then alerting while it rings, and Kick cancels it. done, if
// not nil, is called once with the outcome.
func (f *Focus) Dial(ctx context.Context, roomName, target, display string, done func(DialResult)) (string, error) {
	if !roomNameRE.MatchString(roomName) {
		return "", fmt.Errorf("focus: dial-out room %q is not a valid room name", roomName)
	}
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return "", fmt.Errorf("focus: dial-out target %q: %w", target, err)
	}
	if uri.Scheme != "sip" && uri.Scheme != "sips" {
		return "", fmt.Errorf("focus: dial-out target %q: expected a sip: or sips: URI", target)
	}
	if f.client == nil {
		return "", errors.New("focus: dial-out before Serve")
	}
	callID := uuid.NewString()
	facts := CallFacts{Room: roomName, CallID: callID, From: (&sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host}).String(),
		DisplayName: display, DialOut: true}
	l := newLeg(f, roomName, facts)
	codecs := f.cfg.Media.Codecs()
	if len(codecs) == 0 {
		return "", errors.New("focus: the media engine offers no codec")
	}
	media, err := f.cfg.Media.AddLeg(MediaLegConfig{Room: roomName, Codec: codecs[0]})
	if err != nil {
		return "", fmt.Errorf("focus: dial-out media leg: %w", err)
	}
	l.media = media
	if code, reason := f.admitLeg(l); code != 0 {
		media.Close()
		return "", fmt.Errorf("focus: dial-out refused: %d %s", code, reason)
	}
	offer, err := buildOffer(f.offerCodecs(codecs), f.sdpAddr(media), l.origin, SendRecv)
	if err != nil {
		l.finish("failed")
		return "", fmt.Errorf("focus: dial-out offer: %w", err)
	}
	l.localSDP = offer

	req := sip.NewRequest(sip.INVITE, uri)
	transport := uriTransport(uri)
	req.SetTransport(transport)
	from := &sip.FromHeader{DisplayName: roomName, Address: sip.Uri{Scheme: "sip", User: roomName, Host: f.hostname(f.Addr())}, Params: sip.NewParams()}
	from.Params.Add("tag", newTag())
	to := &sip.ToHeader{DisplayName: display, Address: sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}, Params: sip.NewParams()}
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(f.contact(roomName, transport))
	req.AppendHeader(sip.NewHeader("Allow", f.allowHdr))
	req.AppendHeader(sip.NewHeader("Supported", supportedExt))
	req.AppendHeader(sip.NewHeader("User-Agent", f.cfg.UserAgent))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)

	ringCtx, cancel := context.WithTimeout(context.Background(), maxRing)
	l.mu.Lock()
	l.cancel = cancel
	l.mu.Unlock()
	tx, err := f.client.TransactionRequest(ctx, req)
	if err != nil {
		cancel()
		l.finish("failed")
		return "", fmt.Errorf("focus: sending dial-out INVITE to %s: %w", target, err)
	}
	f.spawn(func() {
		defer cancel()
		res := f.runDialOut(ringCtx, l, req, tx)
		f.metrics.calls.WithLabelValues("dialout_" + fmt.Sprint(res.Status)).Inc()
		if done != nil {
			done(res)
		}
	})
	return callID, nil
}

// runDialOut follows a dial-out INVITE to its end: ringing, answer (ACK,
// media), failure, or cancellation when ctx ends (Kick, ring timeout).
func (f *Focus) runDialOut(ctx context.Context, l *leg, inv *sip.Request, tx sip.ClientTransaction) DialResult {
	defer tx.Terminate()
	res := DialResult{CallID: l.callID}
	provisional := false
	cancelled := false
	for {
		var ctxDone <-chan struct{}
		if !cancelled {
			ctxDone = ctx.Done()
		}
		select {
		case r := <-tx.Responses():
			switch {
			case r.IsProvisional():
				if r.StatusCode > 100 && l.getState() == legTrying {
					if l.transition(legAlerting) {
						f.emit(Event{Kind: EventAlerting, Room: l.room, CallID: l.callID, Call: l.facts})
					}
				}
				if cancelled && !provisional {
					f.goCancel(inv)
				}
				provisional = true
			case r.IsSuccess():
				res.Status = r.StatusCode
				f.answered(l, inv, r, cancelled)
				return res
			default:
				res.Status = r.StatusCode
				reason := "failed"
				if r.StatusCode == sip.StatusBusyHere || r.StatusCode == sip.StatusGlobalBusyEverywhere {
					reason = "busy"
				}
				l.mu.Lock()
				if l.reason != "" {
					reason = l.reason
				}
				l.mu.Unlock()
				l.finish(reason)
				return res
			}
		case <-tx.Done():
			res.Err = tx.Err()
			l.finish("failed")
			return res
		case <-f.stopCtx.Done():
			res.Err = errors.New("focus stopped")
			l.finish("failed")
			return res
		case <-ctxDone:
			// RFC 3261 9.1: CANCEL only once a provisional came.
			cancelled = true
			l.mu.Lock()
			if l.reason == "" {
				l.reason = "departed"
			}
			l.mu.Unlock()
			if provisional {
				f.goCancel(inv)
			}
		}
	}
}

// answered completes a dial-out that got a 2xx: ACK, then media, or BYE
// when the answer is unusable or the leg was cancelled meanwhile.
func (f *Focus) answered(l *leg, inv *sip.Request, r *sip.Response, cancelled bool) {
	d := uacDialog(inv, r)
	l.mu.Lock()
	l.dlg = d
	l.cancel = nil
	l.mu.Unlock()
	f.indexDialog(l, d)
	ack := d.request(sip.ACK)
	ack.CSeq().SeqNo = inv.CSeq().SeqNo
	if err := f.client.WriteRequest(ack); err != nil {
		f.log.Warn("dial-out ACK failed", "call", l.callID, "err", err)
	}
	if !l.transition(legAnswered) {
		return
	}
	if cancelled {
		l.hangup(context.Background(), "departed", "cancelled")
		return
	}
	if err := l.applyAnswer(r.Body(), f.cfg.Media.Codecs()); err != nil {
		f.log.Info("dial-out answer unusable", "call", l.callID, "err", err)
		l.hangup(context.Background(), "failed", "unacceptable SDP answer")
		return
	}
	l.connected()
}

func (f *Focus) goCancel(inv *sip.Request) {
	f.spawn(func() {
		f.sendCancel(inv)
	})
}

// sendCancel sends CANCEL for a pending INVITE (RFC 3261 9.1): same
// Request-URI, top Via, From, To, Call-ID and CSeq number.
func (f *Focus) sendCancel(inv *sip.Request) {
	c := sip.NewRequest(sip.CANCEL, inv.Recipient)
	c.AppendHeader(sip.HeaderClone(inv.Via()))
	c.AppendHeader(sip.HeaderClone(inv.From()))
	c.AppendHeader(sip.HeaderClone(inv.To()))
	c.AppendHeader(sip.HeaderClone(inv.CallID()))
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	maxFwd := sip.MaxForwardsHeader(70)
	c.AppendHeader(&maxFwd)
	sip.CopyHeaders("Route", inv, c)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	c.Laddr = inv.Laddr
	c.SetBody(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	defer cancel()
	defer context.AfterFunc(f.stopCtx, cancel)()
	keep := func(*sipgo.Client, *sip.Request) error { return nil }
	if _, err := f.client.Do(ctx, c, keep); err != nil {
		f.log.Debug("CANCEL failed", "err", err)
	}
}

// uriTransport is the transport a request to uri goes over: TLS for sips:,
// else its transport parameter, else UDP (RFC 3263 without DNS).
func uriTransport(uri sip.Uri) string {
	if uri.Scheme == "sips" {
		return "TLS"
	}
	if t, ok := uri.UriParams.Get("transport"); ok && t != "" {
		return strings.ToUpper(t)
	}
	return "UDP"
}
