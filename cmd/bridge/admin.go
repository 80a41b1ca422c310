package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/mixer"
	"cusax.dev/bridge/muc"
	bsync "cusax.dev/bridge/sync"
	"cusax.dev/bridge/web"
	"cusax.dev/bridge/web/admin"
	"cusax.dev/bridge/web/dashboard"
)

// adminBridge is the admin API's view of the bridge: it translates sync's
// room views and actions into the API's types (web reaches sync only
// through the interfaces web/admin declares). Without the chat face (sync
// nil) it lists this node's calls and refuses actions: they are MUC
// moderation, and there is no MUC.
type adminBridge struct {
	sync   *bsync.Sync // nil without the chat face
	focus  *focus.Focus
	nodeID string // shown for the rooms a node running alone mixes
}

func (b adminBridge) Rooms(ctx context.Context) ([]admin.Room, error) {
	if b.sync == nil {
		return b.callsOnly(""), nil
	}
	views, err := b.sync.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]admin.Room, 0, len(views))
	for _, v := range views {
		out = append(out, b.adminRoom(v))
	}
	return out, nil
}

func (b adminBridge) Room(ctx context.Context, name string) (admin.Room, error) {
	if b.sync == nil {
		if rooms := b.callsOnly(name); len(rooms) == 1 {
			return rooms[0], nil
		}
		return admin.Room{}, fmt.Errorf("room %q: %w", name, admin.ErrNotFound)
	}
	v, err := b.sync.Room(ctx, name)
	if errors.Is(err, muc.ErrNoRoom) {
		return admin.Room{}, fmt.Errorf("%w: %w", admin.ErrNotFound, err)
	}
	if err != nil {
		return admin.Room{}, err
	}
	return b.adminRoom(v), nil
}

func (b adminBridge) Act(ctx context.Context, a admin.Action) error {
	if b.sync == nil {
		return fmt.Errorf("%w: the chat face is off (--xmpp-secret is empty), and actions are the chat room's moderation", admin.ErrConflict)
	}
	err := b.sync.Moderate(ctx, bsync.Action{
		Kind: bsync.ActionKind(a.Kind), Room: a.Room, Nick: a.Nick, Reason: a.Reason, Actor: a.Actor, Face: "api",
	})
	switch {
	case errors.Is(err, muc.ErrNoRoom), errors.Is(err, muc.ErrNoOccupant):
		return fmt.Errorf("%w: %w", admin.ErrNotFound, err)
	case errors.Is(err, bsync.ErrNoJID):
		return fmt.Errorf("%w: %w", admin.ErrConflict, err)
	}
	return err
}

func (b adminBridge) SetLimits(ctx context.Context, room string, l admin.Limits, actor string) error {
	if b.sync == nil {
		return fmt.Errorf("%w: the chat face is off (--xmpp-secret is empty), and a room's limit is its chat room's setting", admin.ErrConflict)
	}
	err := b.sync.SetRoomLimit(ctx, room, l.MaxParticipants, actor, "api")
	if errors.Is(err, muc.ErrNoRoom) {
		return fmt.Errorf("%w: %w", admin.ErrNotFound, err)
	}
	return err
}

// Dial calls uri into an existing room (an unknown room is 404, as for
// every action).
func (b adminBridge) Dial(ctx context.Context, room, uri, actor string) (string, string, error) {
	if b.sync == nil {
		return "", "", fmt.Errorf("%w: the chat face is off (--xmpp-secret is empty)", admin.ErrConflict)
	}
	if _, err := b.Room(ctx, room); err != nil {
		return "", "", err
	}
	id, node, err := b.sync.DialOut(ctx, room, uri, actor, "api")
	if errors.Is(err, bsync.ErrBadTarget) {
		return "", "", fmt.Errorf("%w: %w", admin.ErrBadRequest, err)
	}
	return id, node, err
}

// callsOnly lists the calls of the focus by room ("" = every room) when
// there is no chat face.
func (b adminBridge) callsOnly(room string) []admin.Room {
	byRoom := map[string]*admin.Room{}
	var names []string
	for _, li := range b.focus.Legs(room) {
		r := byRoom[li.Room]
		if r == nil {
			r = &admin.Room{Name: li.Room, Node: b.nodeID, Participants: []admin.Participant{}}
			byRoom[li.Room] = r
			names = append(names, li.Room)
		}
		leg := admin.Leg{CallID: li.CallID, Kind: "phone", State: li.State, Binding: "none",
			Muted: li.Muted, SelfMuted: li.SelfMuted, Since: li.Since}
		leg.Signalling, leg.Media, leg.Security = security(li.Secure || li.Call.Secure, li.Media)
		nick := li.Call.DisplayName
		if nick == "" {
			nick = li.Call.From
		}
		r.Participants = append(r.Participants, admin.Participant{Nick: nick, Role: "participant", Affiliation: "none",
			Faces: []string{"phone"}, Muted: li.Muted || li.SelfMuted, Legs: []admin.Leg{leg}})
	}
	slices.Sort(names)
	out := make([]admin.Room, 0, len(names))
	for _, n := range names {
		r := byRoom[n]
		r.Security = securitySummary(r.Participants, nil)
		out = append(out, *r)
	}
	return out
}

func (b adminBridge) adminRoom(v bsync.RoomView) admin.Room {
	if v.Node == "local" {
		v.Node = b.nodeID
	}
	r := admin.Room{
		Name: v.Name, Subject: v.Subject, Node: v.Node, Remote: v.Remote,
		Limits:    admin.Limits{MaxParticipants: v.Config.MaxUsers},
		Moderated: v.Config.Moderated, MembersOnly: v.Config.MembersOnly, PasswordProtected: v.Config.PasswordProtected,
		Participants: make([]admin.Participant, 0, len(v.Occupants)),
	}
	for _, o := range v.Occupants {
		p := admin.Participant{Nick: o.Nick, JID: o.JID, Role: string(o.Role), Affiliation: string(o.Affiliation),
			Muted: o.Role == muc.RoleVisitor}
		if !o.AudioOnly {
			p.Faces = append(p.Faces, "chat")
		}
		kinds := map[string]bool{}
		for _, l := range o.Legs {
			leg := adminLeg(l)
			p.Legs = append(p.Legs, leg)
			kinds[leg.Kind] = true
			p.Muted = p.Muted || l.Muted || l.SelfMuted
			p.Talking = p.Talking || l.Talking
			p.Held = p.Held || l.Held
		}
		if o.AudioOnly && len(o.Legs) == 0 {
			kinds["phone"] = true // its call is on another node
		}
		for _, k := range []string{"phone", "browser"} {
			if kinds[k] {
				p.Faces = append(p.Faces, k)
			}
		}
		r.Participants = append(r.Participants, p)
	}
	for _, l := range v.Legs {
		r.PendingLegs = append(r.PendingLegs, adminLeg(l))
	}
	r.Security = securitySummary(r.Participants, r.PendingLegs)
	return r
}

func adminLeg(l bsync.LegView) admin.Leg {
	kind := l.Kind
	if kind == "" {
		kind = "phone"
	}
	leg := admin.Leg{CallID: l.CallID, Kind: kind, State: l.State, Binding: l.Binding,
		Muted: l.Muted, SelfMuted: l.SelfMuted, Talking: l.Talking, Held: l.Held, Ringing: l.Ringing, Since: l.Since}
	leg.Signalling, leg.Media, leg.Security = security(l.Secure, l.Media)
	return leg
}

// security names a call's signalling and media security and sums them up:
// encrypted (both), partial (one) or plain (neither).
func security(secureSignalling bool, media string) (signalling, mediaName, level string) {
	signalling, mediaName = "plain", media
	if secureSignalling {
		signalling = "tls"
	}
	if mediaName == "" {
		mediaName = "rtp"
	}
	encrypted := 0
	if secureSignalling {
		encrypted++
	}
	if mediaName == focus.MediaSRTP || mediaName == bsync.MediaDTLSSRTP {
		encrypted++
	}
	return signalling, mediaName, [...]string{"plain", "partial", "encrypted"}[encrypted]
}

// securitySummary is "encrypted" when every call is, "plain" when every
// call is plain, "mixed" otherwise and "" without calls.
func securitySummary(ps []admin.Participant, pending []admin.Leg) string {
	seen := map[string]bool{}
	for _, p := range ps {
		for _, l := range p.Legs {
			seen[l.Security] = true
		}
	}
	for _, l := range pending {
		seen[l.Security] = true
	}
	switch {
	case len(seen) == 0:
		return ""
	case len(seen) > 1 || seen["partial"]:
		return "mixed"
	case seen["encrypted"]:
		return "encrypted"
	}
	return "plain"
}

// nodeStatus is the dashboard's health panel: the readiness checks and the
// node's calls.
func nodeStatus(cfg Config, checks []web.ReadinessCheck, foc *focus.Focus) func(context.Context) admin.Node {
	return func(context.Context) admin.Node {
		n := admin.Node{ID: cfg.NodeID, Version: version, Ready: true, Checks: map[string]bool{}}
		for _, c := range checks {
			ok := c.Ready()
			n.Checks[c.Name] = ok
			if !ok && !c.Advisory {
				n.Ready = false
			}
		}
		rooms := map[string]bool{}
		for _, li := range foc.Legs("") {
			n.Calls++
			rooms[li.Room] = true
		}
		n.Rooms = len(rooms)
		return n
	}
}

// readAdminToken reads --admin-token-file: one line, the token. An empty
// path means no token (loopback only); an empty file is an error, since it
// would silently open the API to anyone who sends an empty token.
func readAdminToken(path string) (string, string, error) {
	if path == "" {
		return "", "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("cannot read it: %w", unwrapPathError(err))
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", "", errors.New("the file is empty; want one line holding the token")
	}
	if strings.ContainsAny(tok, " \t\r\n") {
		return "", "", errors.New("want one token on one line, without spaces")
	}
	return path, tok, nil
}

func parseMaxCalls(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number of calls, 0 or more (0: no limit), got %q", v)
	}
	return n, nil
}

func parseInviteRate(v string) (float64, error) {
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return 0, fmt.Errorf("want INVITEs a second, 0 or more (0: no limit), got %q", v)
	}
	return r, nil
}

func parseLegsPerPort(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > mixer.DefaultLegsPerPort {
		return 0, fmt.Errorf("want a whole number of calls from 1 to %d (1: a port per call), got %q", mixer.DefaultLegsPerPort, v)
	}
	return n, nil
}

func parseRealtimePrio(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 99 {
		return 0, fmt.Errorf("want a SCHED_RR priority from 1 to 99, or 0 for ordinary scheduling, got %q", v)
	}
	return n, nil
}

func parseInviteBurst(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number of INVITEs, 0 or more (0: no limit), got %q", v)
	}
	return n, nil
}

// inviteLimit turns --invite-rate and --invite-burst into focus.Config's
// fields, where 0 means the default and a negative rate means no limit.
func inviteLimit(rate float64, burst int) (float64, int) {
	if rate == 0 || burst == 0 {
		return -1, 0
	}
	return rate, burst
}

// nodeFull refuses a new call when the node carries --max-calls already
// (a dial-out too: it would be one more call). It is checked before sync,
// so no room is placed for a call that cannot be taken.
func nodeFull(maxCalls, calls int) (focus.Admission, bool) {
	if maxCalls <= 0 || calls < maxCalls {
		return focus.Admission{}, false
	}
	return focus.Admission{Verdict: focus.NodeFull, Reason: fmt.Sprintf("Service Unavailable (node full: %d calls)", calls)}, true
}

// adminHandlers builds what the ops server serves for operators: the admin
// API under /api/v1/ and the dashboard at /.
func adminHandlers(cfg Config, checks []web.ReadinessCheck, foc *focus.Focus, sy *bsync.Sync, log *slog.Logger) (map[string]http.Handler, error) {
	bridge := adminBridge{sync: sy, focus: foc, nodeID: cfg.NodeID}
	api, err := admin.New(admin.Config{
		Rooms: bridge, Moderator: bridge, Node: nodeStatus(cfg, checks, foc),
		Token: cfg.AdminToken, Logger: log.With("part", "admin"),
	})
	if err != nil {
		return nil, err
	}
	handlers := dashboard.Handlers(dashboard.Config{NodeID: cfg.NodeID, Version: version, API: admin.Prefix})
	handlers[admin.Prefix] = api
	return handlers, nil
}
