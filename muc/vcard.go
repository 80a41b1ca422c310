package muc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mellium.im/xmpp/jid"
)

// vCard fetch (XEP-0054 vcard-temp, section 3.1): sync verifies a caller's
// Call-Info impp hint (RFC 6993) against the SIP addresses the hinted user
// lists in their own vCard. The component asks the user's server, which
// answers for the bare JID; the reply is matched on an id of ours and must
// come from the JID asked, so nobody else can answer for the user.

const (
	nsVCard = "vcard-temp"
	// maxPendingVCards bounds the fetches in flight; sync makes one per
	// call setup with a hint, so this is only reached under attack.
	maxPendingVCards = 1000
	// vcardTimeout bounds a fetch whose ctx has no deadline.
	vcardTimeout = 10 * time.Second
)

// ErrNoVCard is returned when the user's server answers with no vCard.
var ErrNoVCard = errors.New("muc: the user has no vCard")

// vcardWait is one fetch awaiting its reply.
type vcardWait struct {
	from string // the bare JID asked; the reply must come from it
	ch   chan *element
}

// VCard fetches bareJID's vCard from the user's own server through the
// component link and returns the <vCard xmlns='vcard-temp'/> element as
// XML, for sync to read the SIP addresses it lists. It fails when the link
// is down or goes down, when ctx ends (or after 10 s without a deadline),
// on an error reply (ErrNoVCard for item-not-found) and on a result without
// a vCard. What the vCard says is untrusted input for the caller to parse.
func (s *Service) VCard(ctx context.Context, bareJID string) ([]byte, error) {
	j, err := jid.Parse(bareJID)
	if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		return nil, fmt.Errorf("muc: a vCard is fetched for a bare user JID (user@domain), got %q (%v)", bareJID, err)
	}
	if !s.ready.Load() {
		return nil, errors.New("muc: fetching a vCard: the component link is down")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, vcardTimeout)
		defer cancel()
	}
	want := j.String()
	id := newID()
	w := vcardWait{from: want, ch: make(chan *element, 1)}
	s.mu.Lock()
	if len(s.vcards) >= maxPendingVCards {
		s.mu.Unlock()
		return nil, fmt.Errorf("muc: fetching %s's vCard: %d fetches already in flight", want, maxPendingVCards)
	}
	if s.vcards == nil {
		s.vcards = map[string]vcardWait{}
	}
	s.vcards[id] = w
	s.send(newElem(nsClient, "iq", "type", "get", "from", s.domain, "to", want, "id", id).add(newElem(nsVCard, "vCard")))
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.vcards, id)
		s.mu.Unlock()
	}()

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var reply *element
	for reply == nil {
		select {
		case reply = <-w.ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("muc: fetching %s's vCard: no reply: %w", want, ctx.Err())
		case <-tick.C:
			if !s.ready.Load() {
				return nil, fmt.Errorf("muc: fetching %s's vCard: the component link went down", want)
			}
		}
	}
	if reply.attr("type") == "error" {
		cond, text := stanzaErrorOf(reply)
		if cond == "item-not-found" {
			return nil, fmt.Errorf("muc: fetching %s's vCard: %w", want, ErrNoVCard)
		}
		return nil, fmt.Errorf("muc: fetching %s's vCard: the server answered with error %q %s", want, cond, quote(text))
	}
	vc := reply.child(nsVCard, "vCard")
	if vc == nil {
		// XEP-0054 allows an empty result for a user without a vCard.
		return nil, fmt.Errorf("muc: fetching %s's vCard: expected a <vCard xmlns='vcard-temp'/> in the result, got %d other children: %w",
			want, len(reply.children()), ErrNoVCard)
	}
	return []byte(vc.String()), nil
}

// vcardReply hands an iq result or error to the VCard call waiting for its
// id; it reports false (and leaves in to other handling) when in is not a
// reply from the JID that was asked. Called under s.mu.
func (s *Service) vcardReply(in *element, from jid.JID) bool {
	id := in.attr("id")
	w, ok := s.vcards[id]
	if !ok || from.String() != w.from {
		return false
	}
	delete(s.vcards, id)
	w.ch <- in // buffered for one; the entry is gone, so never a second
	return true
}

// stanzaErrorOf returns the defined condition and text of an error stanza.
func stanzaErrorOf(in *element) (cond, text string) {
	e := in.child("", "error")
	if e == nil {
		return "", ""
	}
	for _, c := range e.children() {
		if c.Name.Space != nsStanzas {
			continue
		}
		if c.Name.Local == "text" {
			text = c.text()
		} else if cond == "" {
			cond = c.Name.Local
		}
	}
	return cond, text
}
