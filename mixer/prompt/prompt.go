// Package prompt loads the voice prompts and tones phone callers hear
// (docs/design/14_prompts.md): 16-bit mono WAV files at 8 or 16 kHz, one
// folder per language, decoded once at start into the mixer's 20 ms frames
// of 16 kHz audio and encoded once in every codec the mixer speaks, so that
// playing a prompt to a leg costs a copy of a payload, not an encode.
package prompt

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"cusax.dev/bridge/mixer/codec"
)

// MaxDuration bounds one prompt: prompts are sentences, and a long file is
// a mistake (music, a recording) that would cost memory in every codec.
const MaxDuration = 30 * time.Second

const maxFrames = int(MaxDuration / (20 * time.Millisecond))

// Frame is 20 ms of 16 kHz mono audio, the mixer's unit.
type Frame = [codec.FrameSamples]int16

// Clip is one prompt or tone, ready to play in any codec.
type Clip struct {
	name  string
	pcm   []Frame
	coded map[string][][]byte // by codec name (codec.Info.Name): one payload per frame
}

// New cuts samples (mono, at rate 8000 or 16000 Hz) into 20 ms frames of
// 16 kHz audio, the last one padded with silence, and encodes them in every
// codec, each with one encoder from the first frame to the last so the
// stream is what a phone's decoder expects.
func New(name string, rate int, samples []int16) (*Clip, error) {
	switch rate {
	case codec.SampleRate:
	case codec.SampleRate / 2:
		up := make([]int16, 2*len(samples))
		var u codec.Upsampler
		u.Process(samples, up)
		samples = up
	default:
		return nil, fmt.Errorf("prompt %q: want 8000 or 16000 Hz audio, got %d Hz", name, rate)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("prompt %q: no audio", name)
	}
	n := (len(samples) + codec.FrameSamples - 1) / codec.FrameSamples
	if n > maxFrames {
		return nil, fmt.Errorf("prompt %q: want at most %v of audio, got %v", name, MaxDuration, time.Duration(n)*20*time.Millisecond)
	}
	c := &Clip{name: name, pcm: make([]Frame, n), coded: map[string][][]byte{}}
	for i := range c.pcm {
		copy(c.pcm[i][:], samples[i*codec.FrameSamples:])
	}
	buf := make([]byte, codec.MaxPayload)
	for _, in := range codec.All() {
		enc, err := codec.NewEncoder(in.Name)
		if err != nil {
			return nil, fmt.Errorf("prompt %q: %w", name, err)
		}
		frames := make([][]byte, n)
		for i := range c.pcm {
			k, err := enc.Encode(c.pcm[i][:], buf)
			if err != nil {
				return nil, fmt.Errorf("prompt %q: encoding frame %d in %s: %w", name, i, in.Name, err)
			}
			frames[i] = slices.Clone(buf[:k])
		}
		c.coded[in.Name] = frames
	}
	return c, nil
}

// Name is the prompt's name: its file name without ".wav".
func (c *Clip) Name() string { return c.name }

// Frames is the prompt's length in 20 ms frames.
func (c *Clip) Frames() int { return len(c.pcm) }

// Duration is how long the prompt plays.
func (c *Clip) Duration() time.Duration { return time.Duration(len(c.pcm)) * 20 * time.Millisecond }

// PCM is frame i as 16 kHz audio, for mixing into a room.
func (c *Clip) PCM(i int) *Frame { return &c.pcm[i] }

// Payload is frame i encoded in the named codec (as codec.Info.Name spells
// it), or nil for a codec the mixer does not speak.
func (c *Clip) Payload(codecName string, i int) []byte {
	f := c.coded[codecName]
	if i >= len(f) {
		return nil
	}
	return f[i]
}

// Set is the prompts of one language, by name. A nil *Set has no prompts.
type Set struct {
	lang  string
	clips map[string]*Clip
}

// NewSet gathers clips; a later clip replaces an earlier one of the same name.
func NewSet(lang string, clips ...*Clip) *Set {
	s := &Set{lang: lang, clips: make(map[string]*Clip, len(clips))}
	for _, c := range clips {
		s.clips[c.name] = c
	}
	return s
}

// Load reads every <lang>/*.wav of fsys (the shipped prompts, or an
// operator's --prompts-dir) into a Set. A file that is not a 16-bit mono
// WAV at 8 or 16 kHz stops the load, naming the file: an operator's
// mistake should show at start, not as silence in a call.
func Load(fsys fs.FS, lang string) (*Set, error) {
	if lang == "" || strings.ContainsAny(lang, `/\`) || !fs.ValidPath(lang) {
		return nil, fmt.Errorf("prompt language: want a folder name such as \"en\", got %q", lang)
	}
	names, err := fs.Glob(fsys, lang+"/*.wav")
	if err != nil {
		return nil, fmt.Errorf("prompt language %q: %w", lang, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("prompt language %q: no %s/*.wav files", lang, lang)
	}
	s := NewSet(lang)
	for _, p := range names {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", p, err)
		}
		rate, samples, err := ParseWAV(b)
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", p, err)
		}
		c, err := New(strings.TrimSuffix(path.Base(p), ".wav"), rate, samples)
		if err != nil {
			return nil, err
		}
		s.clips[c.name] = c
	}
	return s, nil
}

// Get finds a prompt by name.
func (s *Set) Get(name string) (*Clip, bool) {
	if s == nil {
		return nil, false
	}
	c, ok := s.clips[name]
	return c, ok
}

// Names lists the prompts, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.clips))
	for n := range s.clips {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Language is the folder the prompts came from.
func (s *Set) Language() string {
	if s == nil {
		return ""
	}
	return s.lang
}

// ErrWAV says a file is not the WAV a prompt must be.
var ErrWAV = errors.New("not a 16-bit PCM mono WAV")
