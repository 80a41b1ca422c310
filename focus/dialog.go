package focus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// dialog is the RFC 3261 section 12 state of one dialog, kept by the focus
// itself (rather than sipgo's dialog sessions) because a conference leg
// needs re-INVITEs in both directions, offerless INVITEs whose answer comes
// in the ACK, and session-timer refreshes.
type dialog struct {
	mu           sync.Mutex
	callID       string
	localTag     string
	remoteTag    string
	local        sip.Uri // our URI (From in our requests)
	remote       sip.Uri // the peer's URI (To in our requests)
	remoteName   string
	remoteTarget sip.Uri // the peer's Contact
	routeSet     []string
	localSeq     uint32
	remoteSeq    uint32
	transport    string
	dest         string // host:port in-dialog requests are sent to
	peerAllow    string
}

func dialogKey(callID, localTag, remoteTag string) string {
	return callID + "\x00" + localTag + "\x00" + remoteTag
}

func (d *dialog) key() string { return dialogKey(d.callID, d.localTag, d.remoteTag) }

// keyOf is the dialog key of a request the focus received.
func keyOf(req *sip.Request) string {
	var to, from string
	if h := req.To(); h != nil {
		to, _ = h.Params.Get("tag")
	}
	if h := req.From(); h != nil {
		from, _ = h.Params.Get("tag")
	}
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	return dialogKey(callID, to, from)
}

func toTag(req *sip.Request) string {
	if h := req.To(); h != nil {
		t, _ := h.Params.Get("tag")
		return t
	}
	return ""
}

// newTag makes a To/From tag.
func newTag() string { return sip.GenerateTagN(16) }

// uasDialog is the dialog an incoming INVITE creates (RFC 3261 12.1.1).
func uasDialog(req *sip.Request, localTag string) *dialog {
	from, to := req.From(), req.To()
	fromTag, _ := from.Params.Get("tag")
	d := &dialog{
		callID:     req.CallID().Value(),
		localTag:   localTag,
		remoteTag:  fromTag,
		local:      to.Address,
		remote:     from.Address,
		remoteName: from.DisplayName,
		localSeq:   rand.Uint32N(1 << 16),
		remoteSeq:  req.CSeq().SeqNo,
		transport:  req.Transport(),
		dest:       req.Source(),
	}
	if c := req.Contact(); c != nil {
		d.remoteTarget = c.Address
	} else {
		d.remoteTarget = from.Address
	}
	for _, h := range req.GetHeaders("Record-Route") {
		d.routeSet = append(d.routeSet, h.Value())
	}
	if h := req.GetHeader("Allow"); h != nil {
		d.peerAllow = h.Value()
	}
	return d
}

// uacDialog is the dialog a 2xx to the focus's own INVITE creates (RFC 3261
// 12.1.2): the route set is the Record-Route in reverse.
func uacDialog(inv *sip.Request, res *sip.Response) *dialog {
	from, to := inv.From(), res.To()
	lt, _ := from.Params.Get("tag")
	rt, _ := to.Params.Get("tag")
	d := &dialog{
		callID:    inv.CallID().Value(),
		localTag:  lt,
		remoteTag: rt,
		local:     from.Address,
		remote:    to.Address,
		localSeq:  inv.CSeq().SeqNo,
		transport: inv.Transport(),
		dest:      inv.Destination(),
	}
	d.remoteTarget = inv.Recipient
	if c := res.Contact(); c != nil {
		d.remoteTarget = c.Address
	}
	rr := res.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		d.routeSet = append(d.routeSet, rr[i].Value())
	}
	if h := res.GetHeader("Allow"); h != nil {
		d.peerAllow = h.Value()
	}
	return d
}

// request builds an in-dialog request (RFC 3261 12.2.1.1).
func (d *dialog) request(method sip.RequestMethod) *sip.Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	if method != sip.ACK && method != sip.CANCEL {
		d.localSeq++
	}
	req := sip.NewRequest(method, *d.remoteTarget.Clone())
	from := &sip.FromHeader{Address: *d.local.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", d.localTag)
	to := &sip.ToHeader{Address: *d.remote.Clone(), DisplayName: d.remoteName, Params: sip.NewParams()}
	if d.remoteTag != "" {
		to.Params.Add("tag", d.remoteTag)
	}
	callID := sip.CallIDHeader(d.callID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.localSeq, MethodName: method})
	req.AppendHeader(&maxFwd)
	for _, r := range d.routeSet {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	req.SetTransport(d.transport)
	if d.dest != "" {
		req.SetDestination(d.dest)
	}
	return req
}

// acceptRemoteSeq applies RFC 3261 12.2.2: a request with a lower CSeq
// than the last one is out of order.
func (d *dialog) acceptRemoteSeq(seq uint32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if seq < d.remoteSeq {
		return false
	}
	d.remoteSeq = seq
	return true
}

func (d *dialog) peerAllows(m sip.RequestMethod) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Contains(splitList(d.peerAllow), string(m))
}

// do sends an in-dialog request and returns its final response.
func (f *Focus) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	if req.GetHeader("User-Agent") == nil {
		req.AppendHeader(sip.NewHeader("User-Agent", f.cfg.UserAgent))
	}
	ctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	defer context.AfterFunc(f.stopCtx, cancel)()
	res, err := f.client.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s to %s: %w", req.Method, req.Recipient.String(), err)
	}
	return res, nil
}

// sourceAddr parses a request's source address.
func sourceAddr(req *sip.Request) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(req.Source())
	return ap
}
