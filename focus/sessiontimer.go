package focus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sessionTimer reads the RFC 4028 headers of an initial INVITE. It returns
// the session interval, who refreshes ("uac" or "uas"), or a 422 with the
// Min-SE header when the asked interval is too small.
func (f *Focus) sessionTimer(req *sip.Request) (time.Duration, string, int, sip.Header) {
	supports := false
	for _, name := range []string{"Supported", "k", "Require"} {
		for _, h := range req.GetHeaders(name) {
			if hasToken(h.Value(), "timer") {
				supports = true
			}
		}
	}
	se := time.Duration(f.sessionExpires.Load())
	refresher := ""
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x")
	}
	if h != nil {
		val, params, _ := strings.Cut(h.Value(), ";")
		secs, err := strconv.Atoi(strings.TrimSpace(val))
		if err == nil && secs > 0 {
			asked := time.Duration(secs) * time.Second
			if asked < minSessionExpires {
				return 0, "", 422,
					sip.NewHeader("Min-SE", strconv.Itoa(int(minSessionExpires.Seconds())))
			}
			se = min(se, asked)
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "refresher") {
				refresher = strings.ToLower(strings.TrimSpace(v))
			}
		}
	}
	switch {
	case !supports:
		refresher = "uas" // RFC 4028 section 9: the UAC cannot refresh
	case refresher != "uas":
		refresher = "uac"
	}
	return se, refresher, 0, nil
}

// sessionHeaders repeats the session timer in a 2xx to a refresh.
func (f *Focus) sessionHeaders(l *leg, req *sip.Request, res *sip.Response) {
	l.mu.Lock()
	se, uas := l.timerSE, l.uasRefr
	l.mu.Unlock()
	if se <= 0 {
		return
	}
	refresher := "uac"
	if uas {
		refresher = "uas"
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(se.Seconds()), refresher)))
	if !uas {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

// refreshHeaders marks a refresh the focus sends (it refreshes only calls
// whose peer does not): the current interval, the focus still refreshing
// as this request's UAC (RFC 4028 section 7.4).
func (l *leg) refreshHeaders(req *sip.Request) {
	l.mu.Lock()
	se, uas := l.timerSE, l.uasRefr
	l.mu.Unlock()
	if se <= 0 || !uas {
		return
	}
	req.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uac", int(se.Seconds()))))
}

// refreshed tells the session timer a refresh went through.
func (l *leg) refreshed() {
	select {
	case l.refresh <- struct{}{}:
	default:
	}
}

// startSessionTimer runs the RFC 4028 timer of a connected leg: when the
// focus refreshes it sends UPDATE (or re-INVITE) every half interval; when
// the peer refreshes it ends the call if no refresh comes before the
// interval minus min(32 s, interval/3) (section 10).
func (l *leg) startSessionTimer() {
	l.mu.Lock()
	se, uas := l.timerSE, l.uasRefr
	l.mu.Unlock()
	if se <= 0 {
		return
	}
	f := l.f
	f.spawn(func() {
		wait := se - min(32*time.Second, se/3)
		if uas {
			wait = se / 2
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-l.refresh:
				if !uas {
					t.Reset(wait)
				}
			case <-t.C:
				if !uas {
					f.log.Info("session expired without refresh", "call", l.callID)
					l.hangup(context.Background(), "failed", "session expired")
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
				var err error
				if l.dlg.peerAllows(sip.UPDATE) {
					err = l.sendUpdate(ctx)
				} else {
					err = l.sendReinvite(ctx)
				}
				cancel()
				if err != nil {
					f.log.Info("session refresh failed", "call", l.callID, "err", err)
					l.hangup(context.Background(), "failed", "session refresh failed")
					return
				}
				t.Reset(wait)
			}
		}
	})
}
