package codec

import (
	"testing"

	"cusax.dev/bridge/internal/testpeer"
)

// BenchmarkCodec measures one 20 ms frame of each codec, to see where a
// room's tick goes.
func BenchmarkCodec(b *testing.B) {
	for _, name := range []string{PCMU, G722, Opus} {
		enc, _ := NewEncoder(name)
		dec, _ := NewDecoder(name)
		pcm := testpeer.Tone(1000, SampleRate, FrameSamples, 0.3)
		pay := make([]byte, MaxPayload)
		out := make([]int16, MaxDecodeSamples)
		n, _ := enc.Encode(pcm, pay)
		b.Run("encode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				enc.Encode(pcm, pay)
			}
		})
		b.Run("decode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dec.Decode(pay[:n], out)
			}
		})
	}
}
