package mixer

import (
	"container/heap"
	"sync/atomic"
	"time"
)

// lateTick is how far behind its deadline a room tick may start before it
// counts in bridge_mixer_late_ticks_total.
const lateTick = 5 * time.Millisecond

// maxBehind is how far a room may fall behind its clock before the clock is
// reset instead of running catch-up ticks back to back.
const maxBehind = 100 * time.Millisecond

// worker clocks the rooms given to it on one 20 ms grid of its own: every
// room of a worker is due at the same instants, so the worker wakes once a
// frame and ticks them back to back (in a fixed order, so each room keeps
// its place in the frame and its packets' spacing), rather than sleeping and
// waking once per room. Workers' grids are staggered across the frame. A
// few workers serve any number of rooms.
type worker struct {
	m     *Mixer
	newc  chan *room
	rooms atomic.Int64
	q     roomQueue
	grid  time.Time // an instant on the worker's grid
}

// newWorker makes the i-th of n workers, its grid a 1/n frame after the
// previous worker's. The grid's origin lies in the past, so every instant the
// worker is asked about comes after it.
func newWorker(m *Mixer, i, n int) *worker {
	origin := time.Now().Add(time.Duration(i)*Frame/time.Duration(n) - Frame)
	return &worker{m: m, newc: make(chan *room, 64), grid: origin}
}

// nextSlot is the first instant of the worker's grid after t.
func (w *worker) nextSlot(t time.Time) time.Time {
	return w.grid.Add(Frame * (t.Sub(w.grid)/Frame + 1))
}

// add hands a new room to the worker.
func (w *worker) add(r *room) {
	w.rooms.Add(1)
	w.newc <- r
}

func (w *worker) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if len(w.q) == 0 {
			select {
			case r := <-w.newc:
				w.push(r)
			case <-stop:
				w.drainAll()
				return
			}
			continue
		}
		r := w.q[0]
		if d := time.Until(r.next); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case nr := <-w.newc:
				timer.Stop()
				w.push(nr)
				continue
			case <-stop:
				w.drainAll()
				return
			}
		}
		start := time.Now()
		if start.Sub(r.next) > lateTick {
			w.m.met.lateTicks.Inc()
		}
		alive := r.tick(start)
		w.m.met.tickTime.Observe(time.Since(start).Seconds())
		if !alive {
			heap.Pop(&w.q)
			w.rooms.Add(-1)
			continue
		}
		r.next = r.next.Add(Frame)
		if start.Sub(r.next) > maxBehind {
			r.next = w.nextSlot(start)
		}
		heap.Fix(&w.q, 0)
	}
}

func (w *worker) push(r *room) {
	r.next = w.nextSlot(time.Now())
	heap.Push(&w.q, r)
}

// drainAll releases rooms still queued when the mixer stops.
func (w *worker) drainAll() {
	for {
		select {
		case r := <-w.newc:
			w.push(r)
		default:
			for _, r := range w.q {
				r.shutdown()
			}
			w.q = w.q[:0]
			return
		}
	}
}

// roomQueue is a min-heap of rooms by next deadline, then by name: rooms due
// together always tick in the same order.
type roomQueue []*room

func (q roomQueue) Len() int { return len(q) }
func (q roomQueue) Less(i, j int) bool {
	if !q[i].next.Equal(q[j].next) {
		return q[i].next.Before(q[j].next)
	}
	return q[i].name < q[j].name
}
func (q roomQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *roomQueue) Push(x any)   { *q = append(*q, x.(*room)) }
func (q *roomQueue) Pop() any {
	old := *q
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return r
}
