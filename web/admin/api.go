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

	mu   sync.Mutex
	subs map[chan Action]struct{} // event streams, told of each action
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
	a := &API{cfg: cfg, log: log, mux: http.NewServeMux(), subs: map[chan Action]struct{}{}}
	a.mux.HandleFunc("GET "+Prefix+"openapi.json", a.openAPI)
	a.mux.Handle("GET "+Prefix+"rooms", a.auth(a.listRooms))
	a.mux.Handle("GET "+Prefix+"rooms/{room}", a.auth(a.showRoom))
	a.mux.Handle("POST "+Prefix+"rooms/{room}/end", a.auth(a.endRoom))
	a.mux.Handle("POST "+Prefix+"rooms/{room}/participants/{nick}/{action}", a.auth(a.actOnParticipant))
	a.mux.Handle("GET "+Prefix+"events", a.auth(a.events))
	if cfg.Node != nil {
		a.mux.Handle("GET "+Prefix+"node", a.auth(a.node))
	}
	a.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API path: "+r.Method+" "+r.URL.Path+" (see "+Prefix+"openapi.json)", "")
	})
	return a, nil
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// auth lets a request through with the right bearer token or, without a
// configured token, from loopback only; otherwise nothing is touched.
func (a *API) auth(next func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Token == "" {
			if !fromLoopback(r) {
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
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return b, "", fmt.Errorf("reading the request body: %w", err)
	}
	if len(data) > maxBody {
		return b, "", fmt.Errorf("request body larger than %d bytes", maxBody)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return b, "", nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return b, "", fmt.Errorf("malformed JSON body: %v; want {\"reason\": \"...\"}", err)
	}
	names := slices.Sorted(maps.Keys(fields))
	for _, f := range names {
		if f != "reason" {
			return b, f, fmt.Errorf("unknown field %q; the body is {\"reason\": \"...\"}", f)
		}
	}
	if v, ok := fields["reason"]; ok {
		if err := json.Unmarshal(v, &b.Reason); err != nil {
			return b, "reason", fmt.Errorf("field \"reason\": want a string, got %s", v)
		}
	}
	return b, "", nil
}

// fail maps an error of the interfaces to a status.
func (a *API) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error(), "")
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, err.Error(), "")
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
