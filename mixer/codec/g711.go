package codec

import (
	"fmt"

	"github.com/zaf/g711"
)

// ulawTable and alawTable map a G.711 codeword to linear PCM; built once and
// never written again.
var ulawTable, alawTable = func() (u, a [256]int16) {
	for i := range 256 {
		u[i] = g711.DecodeUlawFrame(uint8(i))
		a[i] = g711.DecodeAlawFrame(uint8(i))
	}
	return u, a
}()

// ulawSquare and alawSquare hold each codeword's squared value, so a
// payload's level costs one load and one add per byte.
var ulawSquare, alawSquare = func() (u, a [256]int32) {
	for i := range 256 {
		u[i] = int32(ulawTable[i]) * int32(ulawTable[i])
		a[i] = int32(alawTable[i]) * int32(alawTable[i])
	}
	return u, a
}()

// g711Decoder decodes PCMU or PCMA (8 kHz, one byte per sample) and
// upsamples to 16 kHz.
type g711Decoder struct {
	table  *[256]int16
	square *[256]int32
	up     Upsampler
	tmp    [MaxDecodeSamples / 2]int16
}

func (d *g711Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	if len(payload) == 0 || len(payload) > len(d.tmp) {
		return 0, fmt.Errorf("%w: G.711 wants 1 to %d bytes, got %d", ErrPayload, len(d.tmp), len(payload))
	}
	if len(pcm) < 2*len(payload) {
		return 0, fmt.Errorf("codec: G.711 decode buffer holds %d samples, needs %d", len(pcm), 2*len(payload))
	}
	tmp := d.tmp[:len(payload)]
	for i, b := range payload {
		tmp[i] = d.table[b]
	}
	return d.up.Process(tmp, pcm), nil
}

func (d *g711Decoder) Conceal([]int16, int) int { return 0 }

// g711Encoder downsamples 16 kHz to 8 kHz and compands.
type g711Encoder struct {
	alaw bool
	down Downsampler
	tmp  [FrameSamples / 2]int16
}

func (e *g711Encoder) Encode(pcm []int16, out []byte) (int, error) {
	if len(pcm) != FrameSamples {
		return 0, fmt.Errorf("codec: G.711 encodes %d samples, got %d", FrameSamples, len(pcm))
	}
	n := e.down.Process(pcm, e.tmp[:])
	if len(out) < n {
		return 0, fmt.Errorf("codec: G.711 output buffer holds %d bytes, needs %d", len(out), n)
	}
	if e.alaw {
		for i, s := range e.tmp[:n] {
			out[i] = g711.EncodeAlawFrame(s)
		}
	} else {
		for i, s := range e.tmp[:n] {
			out[i] = g711.EncodeUlawFrame(s)
		}
	}
	return n, nil
}

func (d *g711Decoder) Level(payload []byte) (int64, int) {
	if len(payload) == 0 {
		return 0, 0
	}
	var sum int64
	for _, b := range payload {
		sum += int64(d.square[b])
	}
	return sum / int64(len(payload)), 2 * len(payload)
}

func (d *g711Decoder) Reset() { d.up.Reset() }
