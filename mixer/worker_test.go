package mixer

import (
	"container/heap"
	"fmt"
	"testing"
	"time"
)

func TestWorkerSlotsSharedAndStaggered(t *testing.T) {
	w0, w1 := newWorker(nil, 0, 2), newWorker(nil, 1, 2)
	now := time.Now()
	a, b := w0.nextSlot(now, 0), w0.nextSlot(now.Add(3*time.Millisecond), 0)
	if d := a.Sub(now); d <= 0 || d > Frame {
		t.Errorf("next slot %v after now; want within one frame", d)
	}
	if off := b.Sub(a) % Frame; off != 0 {
		t.Errorf("two rooms of one slot are %v off each other's grid; want 0", off)
	}
	phase := func(x time.Time) time.Duration { return (x.Sub(a)%Frame + Frame) % Frame }
	near := func(got, want time.Duration) bool { return got-want < time.Millisecond && want-got < time.Millisecond }
	if got := phase(w0.nextSlot(now, 1)); !near(got, Frame/slotsPerFrame) {
		t.Errorf("a worker's slot 1 is %v after its slot 0; want %v", got, Frame/slotsPerFrame)
	}
	if got := phase(w1.nextSlot(now, 0)); !near(got, Frame/(2*slotsPerFrame)) {
		t.Errorf("the second of two workers ticks %v after the first; want %v", got, Frame/(2*slotsPerFrame))
	}
}

func TestWorkerFillsSlotsInOrder(t *testing.T) {
	w := newWorker(nil, 0, 1)
	add := func(n int) {
		for range n {
			w.push(&room{name: fmt.Sprint(len(w.slotOf))})
		}
	}
	add(roomsPerSlot + 1)
	if w.inSlot[0] != roomsPerSlot || w.inSlot[1] != 1 {
		t.Fatalf("slots hold %v after %d rooms; want the first full and one room in the second", w.inSlot, roomsPerSlot+1)
	}
	add(slotsPerFrame*roomsPerSlot - roomsPerSlot - 1 + slotsPerFrame)
	for s, c := range w.inSlot {
		if c != roomsPerSlot+1 {
			t.Errorf("slot %d holds %d rooms; want %d once all are full and each got one more", s, c, roomsPerSlot+1)
		}
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

func TestLateTickCountsTheWorkersDelayNotTheSlotsQueue(t *testing.T) {
	slot := time.Now()
	prevEnd := slot.Add(7 * time.Millisecond)
	if got := startDue(slot, slot, prevEnd); !got.Equal(prevEnd) {
		t.Errorf("a room after another of its slot is due %v after the slot; want when that one ended (7ms)", got.Sub(slot))
	}
	if got := startDue(slot, slot.Add(-Frame/slotsPerFrame), prevEnd); !got.Equal(slot) {
		t.Errorf("the first room of a slot is due %v after its slot; want 0", got.Sub(slot))
	}
}
