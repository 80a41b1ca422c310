package testpeer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// ToneGen makes a continuous sine tone in successive buffers, so a test can
// feed a phone or an RTP stream 20 ms at a time without phase jumps.
type ToneGen struct {
	Freq  float64 // Hz
	Rate  int     // samples per second
	Amp   float64 // peak amplitude as a fraction of full scale (0-1)
	phase float64
}

// Fill writes the next len(buf) samples of the tone.
func (g *ToneGen) Fill(buf []int16) {
	step := 2 * math.Pi * g.Freq / float64(g.Rate)
	for i := range buf {
		buf[i] = int16(math.Round(g.Amp * 32767 * math.Sin(g.phase)))
		g.phase += step
		if g.phase > 2*math.Pi {
			g.phase -= 2 * math.Pi
		}
	}
}

// Tone returns n samples of a sine tone.
func Tone(freq float64, rate, n int, amp float64) []int16 {
	g := ToneGen{Freq: freq, Rate: rate, Amp: amp}
	buf := make([]int16, n)
	g.Fill(buf)
	return buf
}

// ToneAmplitude measures, with the Goertzel algorithm, the amplitude of the
// freq component of samples as a fraction of full scale: a full-scale sine
// at freq gives about 1, its absence about 0. Use a few hundred samples or
// more; frequencies closer than rate/len(samples) blur into each other.
func ToneAmplitude(samples []int16, freq float64, rate int) float64 {
	if len(samples) == 0 {
		return 0
	}
	// Windowless Goertzel on a whole number of the tone's periods would be
	// exact; a Hann window keeps leakage from neighbouring tones low
	// whatever the length.
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2, wsum float64
	n := len(samples)
	for i, x := range samples {
		hann := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1+boolInt(n == 1)))
		wsum += hann
		s0 := float64(x)/32768*hann + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	if power < 0 {
		power = 0
	}
	return 2 * math.Sqrt(power) / wsum
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// RMS returns the root mean square of samples as a fraction of full scale.
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		v := float64(s) / 32768
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// WriteWAV writes mono 16-bit PCM as a WAV file (what baresip's aufile and
// sox read).
func WriteWAV(path string, rate int, samples []int16) error {
	data := make([]byte, 44+2*len(samples))
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*len(samples)))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], uint32(rate))
	binary.LittleEndian.PutUint32(data[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*len(samples)))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(s))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing WAV %s: %w", path, err)
	}
	return nil
}

// ReadWAV reads a 16-bit PCM WAV file (as baresip's sndfile module records
// it) and returns its rate and its first channel.
func ReadWAV(path string) (rate int, samples []int16, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, fmt.Errorf("reading WAV: %w", err)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, nil, fmt.Errorf("reading WAV %s: want a RIFF/WAVE header, got %q", path, b[:min(12, len(b))])
	}
	var channels, bits int
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size > len(body) {
			size = len(body) // recorders still writing leave the size unset
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return 0, nil, fmt.Errorf("reading WAV %s: fmt chunk of %d bytes, want at least 16", path, size)
			}
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if bits != 16 || channels < 1 {
				return 0, nil, fmt.Errorf("reading WAV %s: want 16-bit PCM, got %d bits, %d channels", path, bits, channels)
			}
			frame := 2 * channels
			samples = make([]int16, size/frame)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(body[i*frame:]))
			}
			return rate, samples, nil
		}
		off += 8 + size + size%2
	}
	return 0, nil, errors.New("reading WAV " + path + ": no data chunk")
}
