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

// worker clocks the rooms given to it: each room keeps its own 20 ms deadline
// (its phase set when it was created), and the worker sleeps until the
// earliest one. A few workers serve any number of rooms.
type worker struct {
	m     *Mixer
	newc  chan *room
	rooms atomic.Int64
	q     roomQueue
}

func newWorker(m *Mixer) *worker {
	return &worker{m: m, newc: make(chan *room, 64)}
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
			r.next = start.Add(Frame)
		}
		heap.Fix(&w.q, 0)
	}
}

func (w *worker) push(r *room) {
	r.next = time.Now().Add(Frame)
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

// roomQueue is a min-heap of rooms by next deadline.
type roomQueue []*room

func (q roomQueue) Len() int           { return len(q) }
func (q roomQueue) Less(i, j int) bool { return q[i].next.Before(q[j].next) }
func (q roomQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *roomQueue) Push(x any)        { *q = append(*q, x.(*room)) }
func (q *roomQueue) Pop() any {
	old := *q
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return r
}
