package focus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// onRefer handles REFER to the conference URI (RFC 4579 sections 5.5 and
// 5.6): Refer-To a SIP URI makes the focus dial it into the room;
// Refer-To with ;method=BYE removes that participant. Progress goes back as
// NOTIFYs of the implicit refer subscription (RFC 3515) with sipfrag bodies.
func (f *Focus) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	h := req.GetHeader("Refer-To")
	if h == nil {
		h = req.GetHeader("r")
	}
	if h == nil {
		f.reply(req, tx, sip.StatusBadRequest, "Bad Request: REFER without Refer-To")
		return
	}
	var target sip.Uri
	raw := strings.TrimSpace(h.Value())
	if i := strings.Index(raw, "<"); i >= 0 {
		if j := strings.LastIndex(raw, ">"); j > i {
			raw = raw[i+1 : j]
		}
	}
	if err := sip.ParseUri(raw, &target); err != nil || (target.Scheme != "sip" && target.Scheme != "sips") {
		f.reply(req, tx, sip.StatusBadRequest, "Bad Request: Refer-To is not a SIP URI")
		return
	}
	method, _ := target.UriParams.Get("method")
	target.UriParams.Remove("method")

	var (
		roomName string
		dlg      *dialog
	)
	if toTag(req) != "" {
		l := f.inDialog(req, tx)
		if l == nil {
			return
		}
		roomName, dlg = l.room, l.dlg
	} else {
		name, _, ok := parseRoom(req.Recipient)
		if !ok || (f.cfg.RequireExistingRooms && !f.roomExists(name)) {
			f.reply(req, tx, sip.StatusNotFound, "No Such Conference")
			return
		}
		if req.Contact() == nil {
			f.reply(req, tx, sip.StatusBadRequest, "Bad Request: REFER without Contact")
			return
		}
		roomName = name
		dlg = uasDialog(req, newTag())
	}
	if strings.EqualFold(method, "BYE") {
		l := f.legByTarget(roomName, target)
		if l == nil {
			f.reply(req, tx, sip.StatusNotFound, "No Such Participant")
			return
		}
		f.accepted(req, tx, dlg)
		f.spawn(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
			defer cancel()
			l.hangup(ctx, "booted", "removed by REFER")
			f.referNotify(ctx, dlg, "SIP/2.0 200 OK", true)
		})
		return
	}
	if method != "" && !strings.EqualFold(method, "INVITE") {
		f.reply(req, tx, sip.StatusBadRequest, "Bad Request: Refer-To method must be INVITE or BYE")
		return
	}
	f.accepted(req, tx, dlg)
	f.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), maxRing+32*time.Second)
		defer cancel()
		f.referNotify(ctx, dlg, "SIP/2.0 100 Trying", false)
		result := make(chan DialResult, 1)
		if _, err := f.Dial(ctx, roomName, target.String(), "", func(r DialResult) { result <- r }); err != nil {
			f.referNotify(ctx, dlg, "SIP/2.0 503 Service Unavailable", true)
			return
		}
		select {
		case r := <-result:
			frag := "SIP/2.0 200 OK"
			if r.Status != sip.StatusOK {
				code := r.Status
				if code == 0 {
					code = sip.StatusRequestTimeout
				}
				frag = fmt.Sprintf("SIP/2.0 %d %s", code, reasonPhrase(code))
			}
			f.referNotify(ctx, dlg, frag, true)
		case <-ctx.Done():
		}
	})
}

// accepted answers a REFER 202, creating the dialog when it came outside one.
func (f *Focus) accepted(req *sip.Request, tx sip.ServerTransaction, d *dialog) {
	res := sip.NewResponseFromRequest(req, sip.StatusAccepted, "Accepted", nil)
	if toTag(req) == "" {
		res.To().Params.Add("tag", d.localTag)
	}
	name, _, _ := parseRoom(req.Recipient)
	res.AppendHeader(f.contact(name, req.Transport()))
	f.respond(tx, res)
}

// referNotify reports progress of a REFER (RFC 3515 section 2.4.4).
func (f *Focus) referNotify(ctx context.Context, d *dialog, frag string, final bool) {
	req := d.request(sip.NOTIFY)
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(frag + "\r\n"))
	if _, err := f.do(ctx, req); err != nil {
		f.log.Debug("refer NOTIFY failed", "err", err)
	}
}

// legByTarget finds the leg of a room whose caller or contact is target.
func (f *Focus) legByTarget(roomName string, target sip.Uri) *leg {
	want := strings.ToLower(target.User + "@" + target.Host)
	for _, l := range f.roomLegs(roomName) {
		l.mu.Lock()
		from := strings.ToLower(l.facts.From)
		var contact string
		if l.dlg != nil {
			contact = strings.ToLower(l.dlg.remoteTarget.User + "@" + l.dlg.remoteTarget.Host)
		}
		l.mu.Unlock()
		if strings.HasSuffix(from, ":"+want) || contact == want {
			return l
		}
	}
	return nil
}

func reasonPhrase(code int) string {
	switch code {
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 603:
		return "Decline"
	}
	return "Failed"
}
