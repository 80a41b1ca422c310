package prompt_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"testing/fstest"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/codec"
	"cusax.dev/bridge/mixer/prompt"
	"cusax.dev/bridge/prompts"
)

// wav builds a 16-bit PCM WAV with an extra LIST chunk before the data, as
// some editors write.
func wav(rate, channels int, samples []int16) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*2*channels))
	b = binary.LittleEndian.AppendUint16(b, uint16(2*channels))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "LIST\x03\x00\x00\x00abc\x00"...)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(2*len(samples)))
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func TestBuiltinSet(t *testing.T) {
	s, err := prompt.Load(prompts.Builtin, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pin-enter", "pin-wrong", "pin-removed", "first-participant", "muted", "unmuted",
		"kicked", "room-ended", "join-tone", "leave-tone", "self-muted", "self-unmuted"} {
		c, ok := s.Get(name)
		if !ok {
			t.Errorf("the shipped set lacks %q (has %v)", name, s.Names())
			continue
		}
		var pcm []int16
		for i := range c.Frames() {
			pcm = append(pcm, c.PCM(i)[:]...)
			for _, in := range codec.All() {
				if len(c.Payload(in.Name, i)) == 0 {
					t.Fatalf("%s frame %d has no %s payload", name, i, in.Name)
				}
			}
		}
		if rms := testpeer.RMS(pcm); rms < 0.02 {
			t.Errorf("%s is nearly silent: RMS %.4f", name, rms)
		}
	}
	if s.Language() != "en" {
		t.Errorf("language %q, want en", s.Language())
	}
}

// An 8 kHz file is upsampled: a 1 kHz tone keeps its frequency and level,
// and its G.711 payload decodes back to the same tone.
func TestEightKilohertzUpsampled(t *testing.T) {
	fsys := fstest.MapFS{"xx/beep.wav": {Data: wav(8000, 1, testpeer.Tone(1000, 8000, 8000, 0.3))}}
	s, err := prompt.Load(fsys, "xx")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Get("beep")
	if c.Frames() != 50 || c.Duration().Seconds() != 1 {
		t.Fatalf("1 s at 8 kHz gave %d frames (%v)", c.Frames(), c.Duration())
	}
	var pcm, dec []int16
	d, _ := codec.NewDecoder(codec.PCMU)
	out := make([]int16, codec.MaxDecodeSamples)
	for i := 5; i < 45; i++ {
		pcm = append(pcm, c.PCM(i)[:]...)
		n, err := d.Decode(c.Payload(codec.PCMU, i), out)
		if err != nil {
			t.Fatal(err)
		}
		dec = append(dec, out[:n]...)
	}
	for what, a := range map[string][]int16{"pcm": pcm, "PCMU": dec} {
		if amp := testpeer.ToneAmplitude(a, 1000, codec.SampleRate); amp < 0.25 || amp > 0.35 {
			t.Errorf("%s: 1 kHz at amplitude %.3f, want 0.3", what, amp)
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	good := wav(16000, 1, make([]int16, 320))
	cases := map[string]struct {
		fsys fstest.MapFS
		lang string
	}{
		"stereo":        {fstest.MapFS{"en/a.wav": {Data: wav(16000, 2, make([]int16, 640))}}, "en"},
		"44.1 kHz":      {fstest.MapFS{"en/a.wav": {Data: wav(44100, 1, make([]int16, 441))}}, "en"},
		"not a WAV":     {fstest.MapFS{"en/a.wav": {Data: []byte("ID3 an mp3")}}, "en"},
		"empty":         {fstest.MapFS{"en/a.wav": {Data: wav(16000, 1, nil)}}, "en"},
		"too long":      {fstest.MapFS{"en/a.wav": {Data: wav(8000, 1, make([]int16, 8000*31))}}, "en"},
		"no such lang":  {fstest.MapFS{"en/a.wav": {Data: good}}, "de"},
		"path language": {fstest.MapFS{"en/a.wav": {Data: good}}, "../en"},
	}
	for name, c := range cases {
		if s, err := prompt.Load(c.fsys, c.lang); err == nil {
			t.Errorf("%s: loaded %v, want an error", name, s.Names())
		}
	}
	if _, _, err := prompt.ParseWAV(good[:len(good)-10]); !errors.Is(err, prompt.ErrWAV) {
		t.Errorf("truncated data: %v, want ErrWAV", err)
	}
}

func TestNilSet(t *testing.T) {
	var s *prompt.Set
	if _, ok := s.Get("muted"); ok || s.Names() != nil || s.Language() != "" {
		t.Error("a nil set should have no prompts")
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wav(16000, 1, []int16{1, -2, 3}))
	f.Add(wav(8000, 2, []int16{1, 2}))
	f.Add([]byte("RIFF\x04\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rate, samples, err := prompt.ParseWAV(b)
		if err != nil {
			return
		}
		if 2*len(samples) > len(b) {
			t.Fatalf("%d samples from %d bytes", len(samples), len(b))
		}
		if c, err := prompt.New("f", rate, samples); err == nil && c.Frames() == 0 {
			t.Fatal("a clip without frames")
		}
	})
}
