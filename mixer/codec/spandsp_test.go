package codec

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// spandspScript encodes and decodes with libspandsp's G.722, the
// implementation baresip's g722 module uses, through Python's ctypes.
const spandspScript = `
import ctypes, sys
lib = ctypes.CDLL("libspandsp.so.2")
for f in (lib.g722_encode_init, lib.g722_decode_init):
    f.restype = ctypes.c_void_p
    f.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
lib.g722_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
lib.g722_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
pcm = open(sys.argv[1], "rb").read()
enc = lib.g722_encode_init(None, 64000, 0)
out = ctypes.create_string_buffer(len(pcm) // 4)
n = lib.g722_encode(enc, out, pcm, len(pcm) // 2)
open(sys.argv[2], "wb").write(out.raw[:n])
dec = lib.g722_decode_init(None, 64000, 0)
code = out.raw[:n]
pcm_out = ctypes.create_string_buffer(4 * len(code))
m = lib.g722_decode(dec, pcm_out, code, len(code))
open(sys.argv[3], "wb").write(pcm_out.raw[:2 * m])
`

// TestG722MatchesSpanDSP checks the hand-written G.722 bit for bit against
// libspandsp (what baresip and many PBXs use), both directions, on speech-like
// input: tones, a sweep and loud bursts that drive the quantisers to their
// limits.
func TestG722MatchesSpanDSP(t *testing.T) {
	python := needSharedLib(t, "libspandsp.so.2")
	const n = 16000 * 2
	pcm := make([]int16, n)
	for i := range pcm {
		x := float64(i) / SampleRate
		v := 0.2*math.Sin(2*math.Pi*440*x) + 0.15*math.Sin(2*math.Pi*(200+3000*x)*x) + 0.1*math.Sin(2*math.Pi*6500*x)
		if (i/1600)%5 == 4 {
			v *= 4 // bursts beyond full scale, clipped
		}
		pcm[i] = int16(max(-32768, min(32767, v*32767)))
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.raw")
	raw := make([]byte, 2*n)
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(s))
	}
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "g722.py")
	if err := os.WriteFile(script, []byte(spandspScript), 0o644); err != nil {
		t.Fatal(err)
	}
	encFile, decFile := filepath.Join(dir, "enc.g722"), filepath.Join(dir, "dec.raw")
	if out, err := exec.Command(python, script, in, encFile, decFile).CombinedOutput(); err != nil {
		t.Fatalf("spandsp script: %v\n%s", err, out)
	}
	theirs, err := os.ReadFile(encFile)
	if err != nil {
		t.Fatal(err)
	}
	theirPCM, err := os.ReadFile(decFile)
	if err != nil {
		t.Fatal(err)
	}

	enc := NewG722Encoder()
	ours := make([]byte, n/2)
	for i := 0; i < n; i += FrameSamples {
		if _, err := enc.Encode(pcm[i:i+FrameSamples], ours[i/2:]); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(ours, theirs) {
		i := 0
		for i < len(ours) && i < len(theirs) && ours[i] == theirs[i] {
			i++
		}
		t.Errorf("encoder differs from spandsp at byte %d of %d/%d", i, len(ours), len(theirs))
	}

	dec := NewG722Decoder()
	out := make([]int16, MaxDecodeSamples)
	var decoded []byte
	for i := 0; i < len(theirs); i += 160 {
		k, err := dec.Decode(theirs[i:min(len(theirs), i+160)], out)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out[:k] {
			decoded = binary.LittleEndian.AppendUint16(decoded, uint16(s))
		}
	}
	// Bit-exact except on overload: spandsp lets the QMF output wrap
	// around (a full-scale click), this decoder saturates.
	if len(decoded) != len(theirPCM) {
		t.Fatalf("decoded %d bytes, spandsp %d", len(decoded), len(theirPCM))
	}
	wraps := 0
	for j := 0; j < len(decoded)/2; j++ {
		o := int16(binary.LittleEndian.Uint16(decoded[2*j:]))
		s := int16(binary.LittleEndian.Uint16(theirPCM[2*j:]))
		if o == s {
			continue
		}
		if (o == math.MaxInt16 && s < 0) || (o == math.MinInt16 && s > 0) {
			wraps++
			continue
		}
		t.Fatalf("decoder differs from spandsp at sample %d: ours %d, spandsp %d", j, o, s)
	}
	t.Logf("identical to spandsp but for %d overload samples it wraps and this decoder saturates", wraps)
}
