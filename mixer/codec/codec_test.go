package codec

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/thesyncim/gopus"

	"cusax.dev/bridge/internal/testpeer"
)

// roundTrip encodes and decodes frames of a tone and returns the decoded
// audio with the codec's start-up (first 100 ms) cut.
func roundTrip(t *testing.T, name string, freq, amp float64, frames int) []int16 {
	t.Helper()
	enc, err := NewEncoder(name)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(name)
	if err != nil {
		t.Fatal(err)
	}
	gen := testpeer.ToneGen{Freq: freq, Rate: SampleRate, Amp: amp}
	pcm := make([]int16, FrameSamples)
	pay := make([]byte, MaxPayload)
	out := make([]int16, MaxDecodeSamples)
	var all []int16
	for range frames {
		gen.Fill(pcm)
		n, err := enc.Encode(pcm, pay)
		if err != nil {
			t.Fatalf("%s encode: %v", name, err)
		}
		k, err := dec.Decode(pay[:n], out)
		if err != nil {
			t.Fatalf("%s decode: %v", name, err)
		}
		all = append(all, out[:k]...)
	}
	return all[5*FrameSamples:]
}

// TestRoundTripKeepsTone: every codec gives back a tone at its frequency and
// level, with little energy anywhere else.
func TestRoundTripKeepsTone(t *testing.T) {
	cases := []struct {
		name   string
		freqs  []float64
		minSNR float64 // dB
	}{
		{PCMU, []float64{300, 1000, 3000}, 25},
		{PCMA, []float64{300, 1000, 3000}, 25},
		{G722, []float64{300, 1000, 3000, 6000}, 25},
		{Opus, []float64{300, 1000, 3000, 6000}, 15},
	}
	for _, c := range cases {
		for _, f := range c.freqs {
			t.Run(fmt.Sprintf("%s/%vHz", c.name, f), func(t *testing.T) {
				const amp = 0.3
				got := roundTrip(t, c.name, f, amp, 50)
				a := testpeer.ToneAmplitude(got, f, SampleRate)
				if math.Abs(20*math.Log10(a/amp)) > 2 {
					t.Errorf("tone came back at amplitude %.3f, want %.3f within 2 dB", a, amp)
				}
				for _, other := range []float64{f * 0.7, f * 1.3} {
					if o := testpeer.ToneAmplitude(got, other, SampleRate); o > amp/20 {
						t.Errorf("energy at %.0f Hz: amplitude %.4f, want none", other, o)
					}
				}
				rms := testpeer.RMS(got)
				signal := a * a / 2
				noise := rms*rms - signal
				if noise > 0 {
					if snr := 10 * math.Log10(signal/noise); snr < c.minSNR {
						t.Errorf("SNR %.1f dB, want at least %v", snr, c.minSNR)
					}
				}
			})
		}
	}
}

// TestG722WireFormat pins the RFC 3551 facts: 160 bytes per 20 ms, 8000 Hz
// RTP clock although the audio is 16 kHz.
func TestG722WireFormat(t *testing.T) {
	in, err := Lookup("g722")
	if err != nil {
		t.Fatal(err)
	}
	if in.ClockRate != 8000 || in.FrameTicks != 160 || in.StaticPT != 9 {
		t.Errorf("G722 info %+v, want clock 8000, 160 ticks per frame, PT 9", in)
	}
	n, err := NewG722Encoder().Encode(make([]int16, FrameSamples), make([]byte, 400))
	if err != nil || n != 160 {
		t.Errorf("G.722 20 ms frame is %d bytes (err %v), want 160", n, err)
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"pcmu", "PCMA", "G722", "OPUS", "opus"} {
		if _, err := Lookup(name); err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
		}
	}
	if _, err := Lookup("GSM"); err == nil {
		t.Error("Lookup(GSM) succeeded, want an error")
	}
}

// TestDecodeBadPayload: empty, oversized and garbage payloads give errors,
// never panics.
func TestDecodeBadPayload(t *testing.T) {
	for _, name := range []string{PCMU, PCMA, G722, Opus} {
		dec, err := NewDecoder(name)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int16, MaxDecodeSamples)
		if _, err := dec.Decode(nil, out); !errors.Is(err, ErrPayload) {
			t.Errorf("%s: empty payload gave %v, want ErrPayload", name, err)
		}
		if _, err := dec.Decode(make([]byte, 4000), out); !errors.Is(err, ErrPayload) {
			t.Errorf("%s: 4000-byte payload gave %v, want ErrPayload", name, err)
		}
		for i := range 200 {
			junk := make([]byte, 1+i*7%300)
			for j := range junk {
				junk[j] = byte(i*31 + j*17)
			}
			dec.Decode(junk, out) // may fail, must not panic
		}
	}
}

func TestResamplerRoundTrip(t *testing.T) {
	var up Upsampler
	var down Downsampler
	for _, f := range []float64{200, 1000, 3000} {
		in := testpeer.Tone(f, 8000, 1600, 0.4)
		hi := make([]int16, 3200)
		for i := 0; i < len(in); i += 160 {
			up.Process(in[i:i+160], hi[2*i:])
		}
		if a := testpeer.ToneAmplitude(hi[200:], f, 16000); math.Abs(a-0.4) > 0.03 {
			t.Errorf("upsampled %v Hz tone at %.3f, want 0.4", f, a)
		}
		lo := make([]int16, 1600)
		for i := 0; i < len(hi); i += 320 {
			down.Process(hi[i:i+320], lo[i/2:])
		}
		if a := testpeer.ToneAmplitude(lo[100:], f, 8000); math.Abs(a-0.4) > 0.05 { // two filter passes
			t.Errorf("down-sampled %v Hz tone at %.3f, want 0.4", f, a)
		}
	}
	// A 6 kHz tone has no place at 8 kHz: the filter must remove it rather
	// than fold it to 2 kHz.
	hi := testpeer.Tone(6000, 16000, 3200, 0.4)
	lo := make([]int16, 1600)
	var d2 Downsampler
	for i := 0; i < len(hi); i += 320 {
		d2.Process(hi[i:i+320], lo[i/2:])
	}
	if a := testpeer.ToneAmplitude(lo[100:], 2000, 8000); a > 0.01 {
		t.Errorf("6 kHz tone aliased to 2 kHz at %.4f, want < 0.01", a)
	}
}

func TestCodecAllocs(t *testing.T) {
	for _, name := range []string{PCMU, G722, Opus} {
		enc, _ := NewEncoder(name)
		dec, _ := NewDecoder(name)
		pcm := testpeer.Tone(1000, SampleRate, FrameSamples, 0.3)
		pay := make([]byte, MaxPayload)
		out := make([]int16, MaxDecodeSamples)
		allocs := testing.AllocsPerRun(50, func() {
			n, _ := enc.Encode(pcm, pay)
			dec.Decode(pay[:n], out)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per encode+decode, want 0", name, allocs)
		}
		// The mixer resets a decoder whenever a leg's skipped frames end.
		if vad, ok := dec.(Activity); ok {
			allocs := testing.AllocsPerRun(50, func() {
				n, _ := enc.Encode(pcm, pay)
				vad.Inactive(pay[:n])
				vad.Reset()
				dec.Decode(pay[:n], out)
			})
			if allocs != 0 {
				t.Errorf("%s: %v allocations per reset and decode, want 0", name, allocs)
			}
		}
	}
}

// TestOpusStereoInput: browsers and phones may send stereo Opus (SDP always
// says opus/48000/2); the mono 16 kHz decoder must still give the tone.
func TestOpusStereoInput(t *testing.T) {
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: 48000, Channels: 2, Application: gopus.ApplicationAudio})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(Opus)
	if err != nil {
		t.Fatal(err)
	}
	gen := testpeer.ToneGen{Freq: 1000, Rate: 48000, Amp: 0.3}
	mono := make([]int16, 960)
	stereo := make([]int16, 1920)
	pay := make([]byte, 4000)
	out := make([]int16, MaxDecodeSamples)
	var all []int16
	for range 50 {
		gen.Fill(mono)
		for i, s := range mono {
			stereo[2*i], stereo[2*i+1] = s, s
		}
		n, err := enc.EncodeInt16(stereo, pay)
		if err != nil {
			t.Fatal(err)
		}
		k, err := dec.Decode(pay[:n], out)
		if err != nil {
			t.Fatal(err)
		}
		if k != FrameSamples {
			t.Fatalf("a 20 ms stereo packet decoded to %d samples, want %d", k, FrameSamples)
		}
		all = append(all, out[:k]...)
	}
	if a := testpeer.ToneAmplitude(all[1600:], 1000, SampleRate); a < 0.2 {
		t.Errorf("stereo Opus tone decoded at amplitude %.3f, want about 0.3", a)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(byte(0), []byte{0xff, 0x7f, 0x00})
	f.Add(byte(2), []byte{0x78, 0x01, 0x02, 0x03})
	f.Add(byte(3), []byte{0xfc, 0xff, 0xfe})
	names := []string{PCMU, PCMA, G722, Opus}
	decs := make([]Decoder, len(names))
	for i, n := range names {
		d, err := NewDecoder(n)
		if err != nil {
			f.Fatal(err)
		}
		decs[i] = d
	}
	out := make([]int16, MaxDecodeSamples)
	f.Fuzz(func(t *testing.T, which byte, payload []byte) {
		d := decs[int(which)%len(decs)]
		n, err := d.Decode(payload, out)
		if err == nil && (n < 0 || n > MaxDecodeSamples) {
			t.Fatalf("decoded %d samples", n)
		}
		d.Conceal(out, FrameSamples)
	})
}

// TestOpusInactiveReadsOnlyFlaggedFrames: the VAD flag is read from a single
// 20 ms mono SILK or hybrid frame; every other packing counts as voiced.
func TestOpusInactiveReadsOnlyFlaggedFrames(t *testing.T) {
	dec, err := NewDecoder(Opus)
	if err != nil {
		t.Fatal(err)
	}
	vad := dec.(Activity)
	toc := func(config, stereo, code byte) byte { return config<<3 | stereo<<2 | code }
	for _, c := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"SILK wideband 20 ms, VAD 0", []byte{toc(9, 0, 0), 0x3f, 0x12}, true},
		{"SILK wideband 20 ms, VAD 1", []byte{toc(9, 0, 0), 0x80, 0x12}, false},
		{"SILK narrowband 20 ms, VAD 0", []byte{toc(1, 0, 0), 0x00}, true},
		{"hybrid fullband 20 ms, VAD 0", []byte{toc(15, 0, 0), 0x7f}, true},
		{"hybrid fullband 20 ms, VAD 1", []byte{toc(15, 0, 0), 0xc0}, false},
		{"SILK 10 ms", []byte{toc(8, 0, 0), 0x00}, false},
		{"SILK 40 ms", []byte{toc(10, 0, 0), 0x00}, false},
		{"CELT 20 ms", []byte{toc(31, 0, 0), 0x00}, false},
		{"stereo", []byte{toc(9, 1, 0), 0x00}, false},
		{"two frames", []byte{toc(9, 0, 1), 0x00, 0x00}, false},
		{"TOC alone", []byte{toc(9, 0, 0)}, false},
		{"empty", nil, false},
	} {
		if got := vad.Inactive(c.payload); got != c.want {
			t.Errorf("%s: Inactive = %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzOpusInactive: any payload is safe to peek at, and only a single 20 ms
// mono SILK or hybrid frame is ever called voiceless.
func FuzzOpusInactive(f *testing.F) {
	f.Add([]byte{9 << 3, 0x00})
	f.Add([]byte{15 << 3, 0x80, 0x01})
	f.Add([]byte{31 << 3})
	dec, err := NewDecoder(Opus)
	if err != nil {
		f.Fatal(err)
	}
	vad := dec.(Activity)
	f.Fuzz(func(t *testing.T, payload []byte) {
		if !vad.Inactive(payload) {
			return
		}
		toc := gopus.ParseTOC(payload[0])
		if len(payload) < 2 || toc.Mode == gopus.ModeCELT || toc.Stereo || toc.FrameCode != 0 || toc.FrameSize != opusFrame48k || payload[1]&0x80 != 0 {
			t.Fatalf("% x called voiceless", payload)
		}
	})
}
