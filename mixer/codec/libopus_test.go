package codec

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"cusax.dev/bridge/internal/testpeer"
)

// libopusScript decodes our packets and encodes a tone with libopus (what
// baresip, browsers and most phones use), through Python's ctypes. Packet
// files are a sequence of 2-byte big-endian lengths and packets.
const libopusScript = `
import ctypes, sys, struct, math
lib = ctypes.CDLL("libopus.so.0")
lib.opus_decoder_create.restype = ctypes.c_void_p
lib.opus_decoder_create.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
lib.opus_encoder_create.restype = ctypes.c_void_p
lib.opus_encoder_create.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
lib.opus_encode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
err = ctypes.c_int()
dec = lib.opus_decoder_create(16000, 1, ctypes.byref(err))
data = open(sys.argv[1], "rb").read()
pcm = (ctypes.c_int16 * 5760)()
out = bytearray()
i = 0
while i < len(data):
    (n,) = struct.unpack(">H", data[i:i+2]); i += 2
    m = lib.opus_decode(dec, data[i:i+n], n, pcm, 5760, 0); i += n
    if m < 0: sys.exit("opus_decode failed: %d" % m)
    out += bytes(pcm)[:2*m]
open(sys.argv[2], "wb").write(out)
enc = lib.opus_encoder_create(48000, 2, 2048, ctypes.byref(err))  # OPUS_APPLICATION_VOIP
frame = (ctypes.c_int16 * 1920)()
buf = ctypes.create_string_buffer(4000)
pk = bytearray()
t = 0
for f in range(50):
    for k in range(960):
        v = int(0.3 * 32767 * math.sin(2 * math.pi * 1200 * t / 48000)); t += 1
        frame[2*k] = v; frame[2*k+1] = v
    n = lib.opus_encode(enc, frame, 960, buf, 4000)
    if n < 0: sys.exit("opus_encode failed: %d" % n)
    pk += struct.pack(">H", n) + buf.raw[:n]
open(sys.argv[3], "wb").write(pk)
`

// TestOpusInteropLibopus: libopus decodes what the mixer's Opus encoder
// sends, and the mixer decodes what libopus (48 kHz stereo, as browsers
// send) encodes, both keeping a tone.
func TestOpusInteropLibopus(t *testing.T) {
	testpeer.Integration(t)
	python := testpeer.NeedPythonModule(t, "ctypes")
	if err := exec.Command(python, "-c", `import ctypes; ctypes.CDLL("libopus.so.0")`).Run(); err != nil {
		if testpeer.InCI() {
			t.Fatalf("libopus.so.0 (installed with baresip) is missing: %v", err)
		}
		t.Skipf("libopus.so.0 (installed with baresip) is missing: %v", err)
	}
	enc, err := NewEncoder(Opus)
	if err != nil {
		t.Fatal(err)
	}
	gen := testpeer.ToneGen{Freq: 700, Rate: SampleRate, Amp: 0.3}
	pcm := make([]int16, FrameSamples)
	pay := make([]byte, MaxPayload)
	var ours []byte
	for range 50 {
		gen.Fill(pcm)
		n, err := enc.Encode(pcm, pay)
		if err != nil {
			t.Fatal(err)
		}
		ours = binary.BigEndian.AppendUint16(ours, uint16(n))
		ours = append(ours, pay[:n]...)
	}
	dir := t.TempDir()
	files := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(files("ours.pk"), ours, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files("opus.py"), []byte(libopusScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, files("opus.py"), files("ours.pk"), files("ours.raw"), files("theirs.pk")).CombinedOutput(); err != nil {
		t.Fatalf("libopus script: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(files("ours.raw"))
	if err != nil {
		t.Fatal(err)
	}
	decoded := make([]int16, len(raw)/2)
	for i := range decoded {
		decoded[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	if len(decoded) != 50*FrameSamples {
		t.Fatalf("libopus decoded %d samples, want %d", len(decoded), 50*FrameSamples)
	}
	if a := testpeer.ToneAmplitude(decoded[3200:], 700, SampleRate); a < 0.2 {
		t.Errorf("libopus hears our 700 Hz tone at amplitude %.3f, want about 0.3", a)
	}

	theirs, err := os.ReadFile(files("theirs.pk"))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(Opus)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, MaxDecodeSamples)
	var got []int16
	for i := 0; i+2 <= len(theirs); {
		n := int(binary.BigEndian.Uint16(theirs[i:]))
		i += 2
		k, err := dec.Decode(theirs[i:i+n], out)
		if err != nil {
			t.Fatalf("decoding libopus packet: %v", err)
		}
		got = append(got, out[:k]...)
		i += n
	}
	if a := testpeer.ToneAmplitude(got[3200:], 1200, SampleRate); a < 0.2 {
		t.Errorf("we hear libopus's 1200 Hz tone at amplitude %.3f, want about 0.3", a)
	}
}
