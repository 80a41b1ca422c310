package mixer

import (
	"container/heap"
	"testing"
	"time"
)

func TestWorkerGridSharedAndStaggered(t *testing.T) {
	w0, w1 := newWorker(nil, 0, 2), newWorker(nil, 1, 2)
	now := time.Now()
	a, b := w0.nextSlot(now), w0.nextSlot(now.Add(3*time.Millisecond))
	if d := a.Sub(now); d <= 0 || d > Frame {
		t.Errorf("next slot %v after now; want within one frame", d)
	}
	if off := b.Sub(a) % Frame; off != 0 {
		t.Errorf("two rooms of one worker are %v off each other's grid; want 0", off)
	}
	off := (w1.nextSlot(now).Sub(a)%Frame + Frame) % Frame
	if diff := off - Frame/2; diff < -time.Millisecond || diff > time.Millisecond {
		t.Errorf("the second of two workers ticks %v after the first; want about half a frame", off)
	}
}

func TestRoomQueueStableOrderWhenDue(t *testing.T) {
	at := time.Now()
	var q roomQueue
	for _, name := range []string{"c", "a", "d", "b"} {
		heap.Push(&q, &room{name: name, next: at})
	}
	for tick := range 3 {
		var order string
		for range q.Len() {
			r := q[0]
			order += r.name
			r.next = r.next.Add(Frame)
			heap.Fix(&q, 0)
		}
		if order != "abcd" {
			t.Fatalf("tick %d ticked rooms in order %q; want abcd every time", tick, order)
		}
	}
}
