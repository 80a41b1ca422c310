package mixer

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"cusax.dev/bridge/mixer/prompt"
)

// Prompts (docs/design/14_prompts.md) come two ways:
//
//   - to one leg (Leg.Play): while it plays, the leg hears the prompt in
//     place of the room, a pre-encoded payload copied into its packet, and
//     nobody else hears anything of it: it never touches the sum;
//   - into the room (Leg.PlayToOthers, Leg.PlayToRoom): the prompt's 16 kHz
//     frames are added to the room's sum, so every mix carries it, except
//     for the one leg left out, who gets its own encode of the mix without
//     it for the prompt's few frames.
//
// Each is a small queue: the caller's goroutine appends under a mutex, the
// room's worker takes the head at a tick; an idle queue costs one atomic
// load per tick.

// maxQueuedPrompts bounds a queue: prompts are seconds long, and a queue
// that fills is a caller looping, whose extra prompts are refused.
const maxQueuedPrompts = 8

// ErrNoPrompt is returned for a prompt name the loaded set does not have.
var ErrNoPrompt = errors.New("mixer: no such prompt")

// ErrPromptQueueFull is returned when a leg or room already has
// maxQueuedPrompts waiting.
var ErrPromptQueueFull = errors.New("mixer: prompt queue full")

// playback is one prompt waiting or playing.
type playback struct {
	clip   *prompt.Clip
	done   chan struct{}
	except *Leg // a room announcement: the leg that does not hear it
}

// promptQueue is a leg's or a room's prompts, played one after another.
type promptQueue struct {
	mu     sync.Mutex
	queued []*playback
	has    atomic.Bool // queued is not empty

	// The worker's own from here on.
	cur   *playback
	frame int // cur's frame this tick
}

func (q *promptQueue) push(pb *playback) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queued) >= maxQueuedPrompts {
		return ErrPromptQueueFull
	}
	q.queued = append(q.queued, pb)
	q.has.Store(true)
	return nil
}

// current is the playback of this tick, starting the next queued one when
// none plays. Worker only.
func (q *promptQueue) current() *playback {
	if q.cur == nil && q.has.Load() {
		q.mu.Lock()
		if len(q.queued) > 0 {
			q.cur, q.frame = q.queued[0], 0
			n := copy(q.queued, q.queued[1:])
			q.queued[n] = nil
			q.queued = q.queued[:n]
		}
		q.has.Store(len(q.queued) > 0)
		q.mu.Unlock()
	}
	return q.cur
}

// advance moves past this tick's frame; the last one closes done. Worker
// only.
func (q *promptQueue) advance() {
	if q.cur == nil {
		return
	}
	if q.frame++; q.frame >= q.cur.clip.Frames() {
		close(q.cur.done)
		q.cur = nil
	}
}

// drop ends whatever is playing or waiting, for a leg that closed: its
// waiters must not wait for frames nobody will send.
func (q *promptQueue) drop() {
	if q.cur != nil {
		close(q.cur.done)
		q.cur = nil
	}
	q.mu.Lock()
	for _, pb := range q.queued {
		close(pb.done)
	}
	clear(q.queued)
	q.queued = q.queued[:0]
	q.has.Store(false)
	q.mu.Unlock()
}

func (m *Mixer) playback(name string, except *Leg) (*playback, error) {
	c, ok := m.cfg.Prompts.Get(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q (language %q has %v)", ErrNoPrompt, name, m.cfg.Prompts.Language(), m.cfg.Prompts.Names())
	}
	return &playback{clip: c, done: make(chan struct{}), except: except}, nil
}

// Play queues the named prompt for this leg alone, after any it is already
// playing. While a prompt plays the leg hears it instead of the room (a
// held leg hears it once resumed); nobody else hears it. The channel is
// closed once the prompt has been sent, or when the leg closes.
func (l *Leg) Play(name string) (<-chan struct{}, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	pb, err := l.m.playback(name, nil)
	if err != nil {
		return nil, err
	}
	if err := l.prompts.push(pb); err != nil {
		return nil, err
	}
	return pb.done, nil
}

// PlayToOthers plays the named prompt (a join tone) into the room's mix
// for every leg but this one, after any other announcement of the room.
// The channel is closed once it has played.
func (l *Leg) PlayToOthers(name string) (<-chan struct{}, error) { return l.announce(name, l) }

// PlayToRoom plays the named prompt (a leave tone) into the mix of every
// leg of this leg's room, itself included.
func (l *Leg) PlayToRoom(name string) (<-chan struct{}, error) { return l.announce(name, nil) }

func (l *Leg) announce(name string, except *Leg) (<-chan struct{}, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	pb, err := l.m.playback(name, except)
	if err != nil {
		return nil, err
	}
	if err := l.room.ann.push(pb); err != nil {
		return nil, err
	}
	return pb.done, nil
}

// mixAnnouncement adds this tick's frame of the room's announcement to
// the sum every mix is made from.
func (r *room) mixAnnouncement() {
	pb := r.ann.current()
	if pb == nil {
		return
	}
	for i, s := range pb.clip.PCM(r.ann.frame) {
		r.sum[i] += int32(s)
	}
}

// leftOut reports whether l must not hear this tick's announcement.
func (r *room) leftOut(l *Leg) bool { return r.ann.cur != nil && r.ann.cur.except == l }

// encodeLeftOut encodes, with the leg's own encoder, the mix without the
// announcement (and without the leg itself when it is a mixed talker).
func (r *room) encodeLeftOut(l *Leg, payload []byte) (int, error) {
	a := r.ann.cur.clip.PCM(r.ann.frame)
	for i, v := range r.sum {
		v -= int32(a[i])
		if l.inMix {
			v -= int32(l.rx.frame[i])
		}
		r.own[i] = sat16(v)
	}
	return l.media.enc.Encode(r.own[:], payload)
}

// promptFrame copies this tick's frame of the leg's prompt, already in its
// codec, into its packet.
func (l *Leg) promptFrame(payload []byte) int {
	return copy(payload, l.prompts.cur.clip.Payload(l.media.info.Name, l.prompts.frame))
}
