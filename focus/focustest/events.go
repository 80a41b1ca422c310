package focustest

import (
	"sync"

	"cusax.dev/bridge/focus"
)

// EventLog records focus events; use its Add as Config.OnEvent.
type EventLog struct {
	mu  sync.Mutex
	evs []focus.Event
}

// Add records an event.
func (e *EventLog) Add(ev focus.Event) { e.mu.Lock(); e.evs = append(e.evs, ev); e.mu.Unlock() }

// Find returns the events of one kind, in order.
func (e *EventLog) Find(kind focus.EventKind) []focus.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []focus.Event
	for _, ev := range e.evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}
