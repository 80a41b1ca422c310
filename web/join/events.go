package join

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"time"
)

// rosterEvery is how often an event stream looks at the room's roster
// (talking, joins, voice) and sends it when it changed.
const rosterEvery = 300 * time.Millisecond

// events is the leg's server-sent events stream (text/event-stream, the
// page reads it with EventSource): "state" when the leg's own state
// changes (connected, muted by a moderator, ended and why), "roster" when
// who is in the room, or who talks, changes. It ends after the leg ended.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	l := s.leg(w, r)
	if l == nil {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		httpError(w, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		flusher.Flush()
		return true
	}
	tick := time.NewTicker(rosterEvery)
	defer tick.Stop()
	var lastState legState
	var lastRoster []Participant
	first := true
	for {
		st, changed := l.snapshot()
		if first || st != lastState {
			if !send("state", st) {
				return
			}
			lastState = st
		}
		if st.State == "ended" {
			return
		}
		roster := s.roster(l)
		if first || !reflect.DeepEqual(roster, lastRoster) {
			if !send("roster", roster) {
				return
			}
			lastRoster = roster
		}
		first = false
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// roster is the room's roster as this leg's page shows it.
func (s *Server) roster(l *browserLeg) []Participant {
	ps := s.cfg.Gate.Roster(l.room)
	if ps == nil {
		ps = []Participant{}
	}
	for i := range ps {
		ps[i].Self = ps[i].LegID == l.id
	}
	return ps
}
