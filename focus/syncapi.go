package focus

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// This file holds what package sync needs beyond control.go (issue 7):
// sending the room's chat to phones without XMPP.

// ErrMessageNotAllowed is returned by SendMessage when the phone's Allow
// header did not list MESSAGE: sending one would only earn a 405.
var ErrMessageNotAllowed = errors.New("focus: the phone does not accept MESSAGE")

// SendMessage sends an in-dialog MESSAGE (RFC 3428) to a connected call, so
// a SIP-only phone reads the room's groupchat. It waits for the final
// response.
func (f *Focus) SendMessage(ctx context.Context, callID, contentType string, body []byte) error {
	l := f.legByCall(callID)
	if l == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchCall, callID)
	}
	l.mu.Lock()
	dlg, state := l.dlg, l.state
	l.mu.Unlock()
	if dlg == nil || (state != legConnected && state != legHeld) {
		return fmt.Errorf("MESSAGE to call %q: want a connected call, it is %s", callID, state)
	}
	if !dlg.peerAllows(sip.MESSAGE) {
		return fmt.Errorf("MESSAGE to call %q: %w", callID, ErrMessageNotAllowed)
	}
	req := dlg.request(sip.MESSAGE)
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody(body)
	res, err := f.do(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("MESSAGE to call %q: want 2xx, got %d %s", callID, res.StatusCode, res.Reason)
	}
	return nil
}
