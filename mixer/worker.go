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

// slotsPerFrame is how many instants a frame a worker may tick rooms at.
// One would wake a worker once a frame, but then its last room waits for
// all the others, and any delay in the batch moves that room's packets; a
// few slots keep the batches short at a few wake-ups a frame (not one a
// room).
const slotsPerFrame = 4

// roomsPerSlot is how many rooms fill a slot before the next one is used:
// a few small rooms share one wake-up, and a batch stays a few ms long.
const roomsPerSlot = 16

// worker clocks the rooms given to it on slotsPerFrame fixed instants a
// frame: each room is due at one of its worker's slots, so the worker wakes
// once per slot and ticks that slot's rooms back to back (in a fixed order,
// so each room keeps its place and its packets' spacing), rather than
// sleeping and waking once per room. All workers' slots are spread evenly
// over the frame. A few workers serve any number of rooms.
type worker struct {
	m     *Mixer
	newc  chan *room
	rooms atomic.Int64
	q     roomQueue
	grid  time.Time // an instant on the worker's slot 0

	// Worker-owned: each room's slot and each slot's room count.
	slotOf map[*room]int
	inSlot [slotsPerFrame]int
}

// newWorker makes the i-th of n workers, its slots 1/(n·slotsPerFrame) of a
// frame after the previous worker's. The grid's origin lies in the past, so
// every instant the worker is asked about comes after it.
func newWorker(m *Mixer, i, n int) *worker {
	origin := time.Now().Add(time.Duration(i)*Frame/time.Duration(n*slotsPerFrame) - Frame)
	return &worker{m: m, newc: make(chan *room, 64), grid: origin, slotOf: map[*room]int{}}
}

// nextSlot is the first instant of slot s after t.
func (w *worker) nextSlot(t time.Time, s int) time.Time {
	origin := w.grid.Add(time.Duration(s) * Frame / slotsPerFrame)
	return origin.Add(Frame * (t.Sub(origin)/Frame + 1))
}

// add hands a new room to the worker.
func (w *worker) add(r *room) {
	w.rooms.Add(1)
	w.newc <- r
}

func (w *worker) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var prevDue, prevEnd time.Time // the previous tick's deadline and end
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
		if start.Sub(startDue(r.next, prevDue, prevEnd)) > lateTick {
			w.m.met.lateTicks.Inc()
		}
		prevDue = r.next
		alive := r.tick(start)
		prevEnd = time.Now()
		w.m.met.tickTime.Observe(prevEnd.Sub(start).Seconds())
		if !alive {
			heap.Pop(&w.q)
			w.inSlot[w.slotOf[r]]--
			delete(w.slotOf, r)
			w.rooms.Add(-1)
			continue
		}
		r.next = r.next.Add(Frame)
		if start.Sub(r.next) > maxBehind {
			r.next = w.nextSlot(start, w.slotOf[r])
		}
		heap.Fix(&w.q, 0)
	}
}

// startDue is when a tick due at next should start, given the deadline and
// end of the tick before it: a room behind others of its slot waits for
// them by design, and is late only if the worker was late to it.
func startDue(next, prevDue, prevEnd time.Time) time.Time {
	if next.Equal(prevDue) {
		return prevEnd
	}
	return next
}

// push queues a new room in the first slot that is not full, or when all
// are, in the emptiest.
func (w *worker) push(r *room) {
	s := 0
	for i, c := range w.inSlot {
		if c < roomsPerSlot {
			s = i
			break
		}
		if c < w.inSlot[s] {
			s = i
		}
	}
	w.slotOf[r] = s
	w.inSlot[s]++
	r.next = w.nextSlot(time.Now(), s)
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
