package admin

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Prefix is where the API lives on the ops listener.
const Prefix = "/api/v1/"

//go:embed openapi.json
var openAPI []byte

// Config configures the API.
type Config struct {
	Rooms     Rooms
	Moderator Moderator
	// Node reports the answering node's health and figures; nil leaves
	// /api/v1/node out.
	Node func(ctx context.Context) Node
	// Token is the bearer token every request but the OpenAPI document
	// must carry. Empty means no token: the API then answers only
	// requests from loopback.
	Token string
	// Poll is how often the event stream looks for changes in the rooms;
	// zero means 250 ms, within the second a live view promises.
	Poll   time.Duration
	Logger *slog.Logger
}

// API serves /api/v1/.
type API struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux

	feed    *roomsFeed
	handler http.Handler // mux behind the cross-origin check
	mu      sync.Mutex
	subs    map[chan Action]struct{} // event streams, told of each action
}

// New builds the API; mount it on Prefix.
func New(cfg Config) (*API, error) {
	if cfg.Rooms == nil || cfg.Moderator == nil {
		return nil, errors.New("admin: Config.Rooms and Config.Moderator are both required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &API{cfg: cfg, log: log, mux: http.NewServeMux(), subs: map[chan Action]struct{}{},
		feed: &roomsFeed{rooms: cfg.Rooms, poll: cfg.Poll, log: log, subs: map[chan []byte]struct{}{}}}
	a.mux.HandleFunc("GET "+Prefix+"openapi.json", a.openAPI)
	a.mux.Handle("GET "+Prefix+"rooms", a.auth(a.listRooms))
	a.mux.Handle("GET "+Prefix+"rooms/{room}", a.auth(a.showRoom))
	a.mux.Handle("POST "+Prefix+"rooms/{room}/end", a.auth(a.endRoom))
	a.mux.Handle("PUT "+Prefix+"rooms/{room}/limits", a.auth(a.setLimits))
	a.mux.Handle("POST "+Prefix+"rooms/{room}/dial", a.auth(a.dial))
	a.mux.Handle("POST "+Prefix+"rooms/{room}/participants/{nick}/{action}", a.auth(a.actOnParticipant))
	a.mux.Handle("GET "+Prefix+"events", a.auth(a.events))
	if cfg.Node != nil {
		a.mux.Handle("GET "+Prefix+"node", a.auth(a.node))
	}
	a.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API path: "+r.Method+" "+r.URL.Path+" (see "+Prefix+"openapi.json)", "")
	})
	// A page of another site open in the operator's browser must not act
	// through it (CSRF): without a token, loopback is all the API checks.
	a.handler = http.NewCrossOriginProtection().Handler(a.mux)
	return a, nil
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// auth lets a request through with the right bearer token or, without a
// configured token, from loopback only; otherwise nothing is touched.
func (a *API) auth(next func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Token == "" {
			// The Host check stops DNS rebinding: a page of another site
			// whose name resolves to 127.0.0.1 is same-origin to itself.
			if !fromLoopback(r) || !loopbackHost(r.Host) {
				a.log.Warn("admin API refused: no --admin-token-file, and not from loopback", "from", r.RemoteAddr, "path", r.URL.Path)
				writeError(w, http.StatusForbidden, "the admin API answers only on loopback unless --admin-token-file is set", "")
				return
			}
			next(w, r, "loopback "+r.RemoteAddr)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.cfg.Token)) != 1 {
			a.log.Warn("admin API refused: missing or wrong bearer token", "from", r.RemoteAddr, "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="bridge admin"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required (Authorization: Bearer <token>)", "")
			return
		}
		next(w, r, "token "+r.RemoteAddr)
	})
}

func fromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// loopbackHost reports whether a Host header names this machine: a
// loopback IP or localhost, with or without a port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().IsLoopback()
	}
	return strings.EqualFold(host, "localhost")
}

func (a *API) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

// roomsList is the body of GET /rooms.
type roomsList struct {
	Rooms []Room `json:"rooms"`
}

func (a *API) listRooms(w http.ResponseWriter, r *http.Request, _ string) {
	rooms, err := a.cfg.Rooms.Rooms(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	if rooms == nil {
		rooms = []Room{}
	}
	writeJSON(w, http.StatusOK, roomsList{Rooms: rooms})
}

func (a *API) showRoom(w http.ResponseWriter, r *http.Request, _ string) {
	room, err := a.cfg.Rooms.Room(r.Context(), r.PathValue("room"))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, room)
}

func (a *API) node(w http.ResponseWriter, r *http.Request, _ string) {
	writeJSON(w, http.StatusOK, a.cfg.Node(r.Context()))
}

// actionBody is the optional JSON body of an action.
type actionBody struct {
	Reason string `json:"reason"`
}

// ActionResult answers an action that was carried out.
type ActionResult struct {
	Action
	Outcome string `json:"outcome"`
}

func (a *API) endRoom(w http.ResponseWriter, r *http.Request, actor string) {
	a.act(w, r, Action{Kind: ActionEnd, Room: r.PathValue("room"), Actor: actor})
}

func (a *API) setLimits(w http.ResponseWriter, r *http.Request, actor string) {
	l, field, err := readLimitsBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), field)
		return
	}
	room := r.PathValue("room")
	if err := a.cfg.Moderator.SetLimits(r.Context(), room, l, actor); err != nil {
		a.fail(w, err)
		return
	}
	act := Action{Kind: ActionLimits, Room: room, Actor: actor, Limits: &l}
	a.publish(act)
	writeJSON(w, http.StatusOK, ActionResult{Action: act, Outcome: "done"})
}

func (a *API) dial(w http.ResponseWriter, r *http.Request, actor string) {
	var uri string
	field, err := readFields(r, `{"uri": "sip:alice@example.test"}`, map[string]any{"uri": &uri})
	if err == nil && strings.TrimSpace(uri) == "" {
		field, err = "uri", errors.New(`field "uri" is required: the SIP URI to call`)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), field)
		return
	}
	act := Action{Kind: ActionDial, Room: r.PathValue("room"), Actor: actor, URI: strings.TrimSpace(uri)}
	act.CallID, act.Node, err = a.cfg.Moderator.Dial(r.Context(), act.Room, act.URI, actor)
	if err != nil {
		a.fail(w, err)
		return
	}
	a.publish(act)
	writeJSON(w, http.StatusOK, ActionResult{Action: act, Outcome: "done"})
}

func (a *API) actOnParticipant(w http.ResponseWriter, r *http.Request, actor string) {
	kind := r.PathValue("action")
	switch kind {
	case ActionMute, ActionUnmute, ActionKick, ActionBan:
	default:
		writeError(w, http.StatusNotFound, "unknown action "+quote(kind)+"; want mute, unmute, kick or ban", "action")
		return
	}
	a.act(w, r, Action{Kind: kind, Room: r.PathValue("room"), Nick: r.PathValue("nick"), Actor: actor})
}

func (a *API) act(w http.ResponseWriter, r *http.Request, act Action) {
	body, field, err := readActionBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), field)
		return
	}
	act.Reason = body.Reason
	if err := a.cfg.Moderator.Act(r.Context(), act); err != nil {
		a.fail(w, err)
		return
	}
	a.publish(act)
	writeJSON(w, http.StatusOK, ActionResult{Action: act, Outcome: "done"})
}

// maxBody bounds an action's body: a reason is a line of text.
const maxBody = 4 << 10

// readActionBody reads the optional {"reason": "..."}; on a malformed body
// it names the offending field ("" for the body as a whole).
func readActionBody(r *http.Request) (actionBody, string, error) {
	var b actionBody
	field, err := readFields(r, `{"reason": "..."}`, map[string]any{"reason": &b.Reason})
	return b, field, err
}

// readLimitsBody reads {"max_participants": N}, N a whole number ≥ 0.
func readLimitsBody(r *http.Request) (Limits, string, error) {
	var n *int
	field, err := readFields(r, `{"max_participants": 2}`, map[string]any{"max_participants": &n})
	switch {
	case err != nil:
		return Limits{}, field, err
	case n == nil:
		return Limits{}, "max_participants", errors.New(`field "max_participants" is required: a whole number, 0 for no limit`)
	case *n < 0:
		return Limits{}, "max_participants", fmt.Errorf(`field "max_participants": want 0 (no limit) or more, got %d`, *n)
	}
	return Limits{MaxParticipants: *n}, "", nil
}

// readFields reads a JSON object body whose fields are among want (name →
// where to decode it; absent fields are left alone); an empty body is an
// empty object. On a malformed body it names the offending field ("" for
// the body as a whole); shape is the body's example for the message.
func readFields(r *http.Request, shape string, want map[string]any) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", fmt.Errorf("reading the request body: %w", err)
	}
	if len(data) > maxBody {
		return "", fmt.Errorf("request body larger than %d bytes", maxBody)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return "", nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return "", fmt.Errorf("malformed JSON body: %v; want %s", err, shape)
	}
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		dst, ok := want[f]
		if !ok {
			return f, fmt.Errorf("unknown field %q; the body is %s", f, shape)
		}
		if err := json.Unmarshal(fields[f], dst); err != nil {
			return f, fmt.Errorf("field %q: want it as in %s, got %s", f, shape, fields[f])
		}
	}
	return "", nil
}

// fail maps an error of the interfaces to a status.
func (a *API) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error(), "")
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, err.Error(), "")
	case errors.Is(err, ErrBadRequest):
		writeError(w, http.StatusBadRequest, err.Error(), "")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, err.Error(), "")
	default:
		a.log.Warn("admin API request failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error(), "")
	}
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
	// Field names the offending request field, when one is to blame.
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg, field string) {
	writeJSON(w, code, Error{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
