package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// The event stream (GET /api/v1/events, text/event-stream) sends:
//
//	event: rooms   data: {"rooms": [...]}  at once, then whenever a room changes
//	event: action  data: an ActionResult   each action taken through this API
//
// and a comment line every 15 s so idle proxies keep the connection. The
// rooms are read every Config.Poll, once for all streams, and sent only
// when they differ, so a view is at most one poll behind (talking, joins,
// leaves).

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
	rooms := a.feed.subscribe()
	defer a.feed.unsubscribe(rooms)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	alive := time.NewTicker(keepAlive)
	defer alive.Stop()
	ctx := r.Context()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case data := <-rooms:
			err = writeEvent(w, "rooms", data)
		case <-alive.C:
			_, err = fmt.Fprint(w, ": keep-alive\n\n")
		case act := <-actions:
			data, _ := json.Marshal(ActionResult{Action: act, Outcome: "done"})
			err = writeEvent(w, "action", data)
		}
		if err != nil {
			return
		}
		flusher.Flush()
	}
}

// roomsFeed reads the rooms for every open stream at once: one reader
// polls while anyone watches, and each stream gets the latest list when
// it changes (a slow stream skips to the newest, never queues old ones).
// Among many nodes a read asks other nodes, so it is not repeated per
// viewer.
type roomsFeed struct {
	rooms Rooms
	poll  time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	subs    map[chan []byte]struct{}
	last    []byte
	running bool
}

func (f *roomsFeed) subscribe() chan []byte {
	ch := make(chan []byte, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[ch] = struct{}{}
	if f.last != nil {
		ch <- f.last
	}
	if !f.running {
		f.running = true
		go f.run()
	}
	return ch
}

func (f *roomsFeed) unsubscribe(ch chan []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, ch)
}

// run polls until nobody watches; the next subscriber starts it again.
func (f *roomsFeed) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t := time.NewTicker(f.poll)
	defer t.Stop()
	for {
		rooms, err := f.rooms.Rooms(ctx)
		var data []byte
		if err != nil {
			f.log.Debug("event stream: reading the rooms", "err", err)
		} else {
			if rooms == nil {
				rooms = []Room{}
			}
			data, _ = json.Marshal(roomsList{Rooms: rooms})
		}
		f.mu.Lock()
		if len(f.subs) == 0 {
			f.running, f.last = false, nil
			f.mu.Unlock()
			return
		}
		if data != nil && !bytes.Equal(data, f.last) {
			f.last = data
			for ch := range f.subs {
				select { // the newest list replaces one not yet sent
				case <-ch:
				default:
				}
				ch <- data
			}
		}
		f.mu.Unlock()
		<-t.C
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
