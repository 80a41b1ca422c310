package sync

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"cusax.dev/bridge/focus"
)

// Why a browser join was refused for the room's password: the page asks
// for it, or says it was wrong. A phone keys the password as a DTMF PIN
// once connected; a browser types it before it joins.
var (
	ErrPasswordRequired = errors.New("sync: this room has a password")
	ErrWrongPassword    = errors.New("sync: wrong room password")
)

// AdmitBrowser is Admit for a browser leg (call.CallID is the leg's ID):
// the same binding and room rules as a phone, with the room password
// checked at once instead of as a PIN. A refusal for the password comes as
// an error, with the leg forgotten.
//
// Among many nodes a browser joining a room owned elsewhere gets Moved with
// the owner's public web URL as Contact (the join server redirects there).
func (s *Sync) AdmitBrowser(ctx context.Context, call focus.CallFacts, password string) (focus.Admission, error) {
	if s.nodes != nil {
		if adm, here := s.routeBrowser(ctx, call.Room); !here {
			return adm, nil
		}
	}
	adm := s.Admit(ctx, call)
	if adm.Verdict == focus.Moved || adm.Verdict == focus.Proxy {
		// The room moved between the two looks: its SIP address is no use
		// to a browser, which tries again.
		return focus.Admission{Verdict: focus.NodeFull, RetryAfter: time.Second, Reason: "Service Unavailable (room owner changing)"}, nil
	}
	if adm.Verdict != focus.Accept {
		return adm, nil
	}
	s.mu.Lock()
	l := s.legs[call.CallID]
	if l != nil {
		l.browser, l.media = true, MediaDTLSSRTP
	}
	s.mu.Unlock()
	if l == nil || l.pin == nil {
		return adm, nil
	}
	info, ok := s.roomInfo(call.Room)
	var err error
	switch {
	case password == "":
		err = ErrPasswordRequired
	case ok && subtle.ConstantTimeCompare([]byte(password), []byte(info.Config.Password)) != 1:
		err = ErrWrongPassword
	}
	if err != nil {
		s.mu.Lock()
		delete(s.legs, call.CallID)
		s.mu.Unlock()
		s.m.refused.WithLabelValues("password").Inc()
		s.log.Info("browser refused", "room", call.Room, "leg", call.CallID, "err", err)
		return focus.Admission{Verdict: focus.Forbidden, Reason: err.Error()}, err
	}
	muted := s.roleMuted(call.Room, l, info, ok)
	s.mu.Lock()
	l.pin, l.muted = nil, muted
	s.mu.Unlock()
	// The password is right: the browser hears and, with voice, is heard.
	adm.Muted, adm.Deaf = muted, false
	return adm, nil
}

// RosterEntry is one person of a room as a browser's page shows it: in the
// chat, in the audio (by phone or browser), or both.
type RosterEntry struct {
	Nick    string
	Chat    bool
	Audio   string // "", "phone" or "browser"
	Muted   bool
	Talking bool
	LegID   string // the audio leg, when there is one
}

// Roster lists a room's people across both faces: each chat occupant with
// the leg bound to them, and each audio-only occupant with its leg. It is
// read on the Serve goroutine, which alone changes what it reads; nil when
// Serve does not answer in time (not running, or stopping).
func (s *Sync) Roster(ctx context.Context, room string) []RosterEntry {
	res := make(chan []RosterEntry, 1)
	s.do(func(context.Context) { res <- s.roster(room) })
	select {
	case r := <-res:
		return r
	case <-ctx.Done():
		return nil
	}
}

func (s *Sync) roster(room string) []RosterEntry {
	occ, _ := s.chat.Occupants(room)
	legs := s.legsIn(room)
	var out []RosterEntry
	shown := map[*legState]bool{}
	for _, o := range occ {
		e := RosterEntry{Nick: o.Nick, Chat: !o.AudioOnly}
		for _, l := range legs {
			if !l.joined || shown[l] {
				continue
			}
			if (o.AudioOnly && l.audioNick == o.Nick) || (!o.AudioOnly && l.jid != "" && l.jid == o.JID) {
				shown[l] = true
				e.Audio, e.LegID = l.kind(), l.callID
				e.Muted = l.muted || l.selfMuted
				e.Talking = l.talking
				break
			}
		}
		out = append(out, e)
	}
	return out
}

// kind names the leg's kind as the faces show it.
func (l *legState) kind() string {
	if l.browser {
		return "browser"
	}
	return "phone"
}

// showWebLegs gives conference-info the room's browser legs: each as an
// endpoint of its person (bound) or of its audio-only occupant.
func (s *Sync) showWebLegs(room string) {
	if s.cfg.WebEndpoints == nil {
		return
	}
	var web []focus.WebLeg
	for _, l := range s.legsIn(room) {
		if !l.browser || !l.joined || l.pin != nil {
			continue
		}
		user, name := s.occupantEntity(room, l.audioNick), l.audioNick
		if l.jid != "" {
			user, name = "xmpp:"+l.jid, l.chatNick
		}
		if name == "" {
			name = l.display
		}
		web = append(web, focus.WebLeg{ID: l.callID, User: user, DisplayText: name, Muted: l.muted,
			SelfMuted: l.selfMuted, Joined: l.admitted, Signalling: l.signalling(), Media: l.mediaSecurity()})
	}
	s.cfg.WebEndpoints.SetWebLegs(room, web)
}

// occupantEntity names an occupant in conference-info, as refreshChatUsers
// does.
func (s *Sync) occupantEntity(room, nick string) string {
	if s.cfg.ChatDomain != "" {
		return "xmpp:" + room + "@" + s.cfg.ChatDomain + "/" + nick
	}
	return "xmpp:" + room + "/" + nick
}

// BrowserHome is the public web URL of the node a browser joining room
// should talk to: "" when it is this one (or running alone), or when no
// node can take the room right now (the join then says so).
func (s *Sync) BrowserHome(ctx context.Context, room string) string {
	if s.nodes == nil {
		return ""
	}
	r := s.cfg.Cluster.Ownership.Route(ctx, room)
	if r.Here || r.RetryAfter > 0 {
		return ""
	}
	return r.Owner.WebURL
}

// routeBrowser is RouteCall for a browser: the owner's web URL instead of
// its SIP URI.
func (s *Sync) routeBrowser(ctx context.Context, room string) (focus.Admission, bool) {
	r := s.cfg.Cluster.Ownership.Route(ctx, room)
	switch {
	case r.Here:
		return focus.Admission{}, true
	case r.RetryAfter > 0:
		return focus.Admission{Verdict: focus.NodeFull, RetryAfter: r.RetryAfter, Reason: "Service Unavailable (" + r.Why + ")"}, false
	case r.Owner.WebURL == "":
		return focus.Admission{Verdict: focus.NodeFull, Reason: "Service Unavailable (the room's node has no browser join)"}, false
	}
	return focus.Admission{Verdict: focus.Moved, Contact: r.Owner.WebURL}, false
}
