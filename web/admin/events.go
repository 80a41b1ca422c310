package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The event stream (GET /api/v1/events, text/event-stream) sends:
//
//	event: rooms   data: {"rooms": [...]}  at once, then whenever a room changes
//	event: action  data: an ActionResult   each action taken through this API
//
// and a comment line every 15 s so idle proxies keep the connection. The
// rooms are read every Config.Poll and sent only when they differ, so a
// view is at most one poll behind (talking, joins, leaves).

const keepAlive = 15 * time.Second

// maxActionBacklog bounds the actions queued for one slow stream; more are
// dropped for it (the next rooms event shows their effect anyway).
const maxActionBacklog = 64

func (a *API) events(w http.ResponseWriter, r *http.Request, _ string) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "the server cannot stream", "")
		return
	}
	actions := make(chan Action, maxActionBacklog)
	a.mu.Lock()
	a.subs[actions] = struct{}{}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.subs, actions)
		a.mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	poll := time.NewTicker(a.cfg.Poll)
	defer poll.Stop()
	alive := time.NewTicker(keepAlive)
	defer alive.Stop()
	var last []byte
	ctx := r.Context()
	for {
		rooms, err := a.cfg.Rooms.Rooms(ctx)
		if err == nil {
			if rooms == nil {
				rooms = []Room{}
			}
			data, _ := json.Marshal(roomsList{Rooms: rooms})
			if !bytes.Equal(data, last) {
				if writeEvent(w, "rooms", data) != nil {
					return
				}
				flusher.Flush()
				last = data
			}
		} else if ctx.Err() == nil {
			a.log.Debug("event stream: reading the rooms", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-alive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case act := <-actions:
			data, _ := json.Marshal(ActionResult{Action: act, Outcome: "done"})
			if writeEvent(w, "action", data) != nil {
				return
			}
			flusher.Flush()
		}
	}
}

func writeEvent(w http.ResponseWriter, name string, data []byte) error {
	_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
	return err
}

// publish tells every open stream of an action taken here.
func (a *API) publish(act Action) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ch := range a.subs {
		select {
		case ch <- act:
		default:
		}
	}
}
