package codec

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/thesyncim/gopus"

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
	python := needLibopus(t)
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
	for _, p := range splitPackets(theirs) {
		k, err := dec.Decode(p, out)
		if err != nil {
			t.Fatalf("decoding libopus packet: %v", err)
		}
		got = append(got, out[:k]...)
	}
	if a := testpeer.ToneAmplitude(got[3200:], 1200, SampleRate); a < 0.2 {
		t.Errorf("we hear libopus's 1200 Hz tone at amplitude %.3f, want about 0.3", a)
	}
}

// needLibopus returns the Python that can load libopus, or skips (fails in
// CI) without it.
func needLibopus(t *testing.T) string { return needSharedLib(t, "libopus.so.0") }

// needSharedLib returns the Python whose ctypes can load lib (installed with
// baresip), or skips the test without it; in CI it fails instead.
func needSharedLib(t *testing.T, lib string) string {
	t.Helper()
	testpeer.Integration(t)
	python := testpeer.NeedPythonModule(t, "ctypes")
	if err := exec.Command(python, "-c", `import ctypes; ctypes.CDLL("`+lib+`")`).Run(); err != nil {
		if testpeer.InCI() {
			t.Fatalf("%s (installed with baresip) is missing: %v", lib, err)
		}
		t.Skipf("%s (installed with baresip) is missing: %v", lib, err)
	}
	return python
}

// libopusVADScript encodes, with libopus as phones and browsers run it, five
// "syllables" of tone (160 ms, gliding up, each followed by 80 ms of line
// noise at -60 dBFS) and then almost three seconds of line noise, in mono at
// 16 kHz and at 48 kHz (24 kbit/s, where libopus codes speech in hybrid
// mode), into two packet files.
const libopusVADScript = `
import ctypes, sys, struct, math, random
lib = ctypes.CDLL("libopus.so.0")
lib.opus_encoder_create.restype = ctypes.c_void_p
lib.opus_encoder_create.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
lib.opus_encoder_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
lib.opus_encode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
rng = random.Random(7)
for rate, path in ((16000, sys.argv[1]), (48000, sys.argv[2])):
    err = ctypes.c_int()
    enc = lib.opus_encoder_create(rate, 1, 2048, ctypes.byref(err))  # OPUS_APPLICATION_VOIP
    lib.opus_encoder_ctl(enc, 4024, 3001)  # OPUS_SET_SIGNAL voice, as a phone's
    if rate == 48000:
        lib.opus_encoder_ctl(enc, 4002, 24000)  # OPUS_SET_BITRATE
    n20 = rate // 50
    frame = (ctypes.c_int16 * n20)()
    buf = ctypes.create_string_buffer(4000)
    pk = bytearray()
    for f in range(200):
        for k in range(n20):
            t = (f * n20 + k) / rate
            if f < 60 and f % 12 < 8:
                frame[k] = int(0.3 * 32767 * math.sin(2 * math.pi * (440 + 40 * (f % 12)) * t))
            else:
                frame[k] = int(rng.gauss(0, 33))
        n = lib.opus_encode(enc, frame, n20, buf, 4000)
        if n < 0: sys.exit("opus_encode failed: %d" % n)
        pk += struct.pack(">H", n) + buf.raw[:n]
    open(path, "wb").write(pk)
`

// TestOpusInactiveMatchesLibopus: the VAD flag Inactive reads is the one
// libopus's encoder writes, in SILK and hybrid packets. Syllables are voiced;
// line noise is voiceless once libopus's VAD has settled (up to a second
// after loud sound); CELT frames carry no flag and count as voiced.
func TestOpusInactiveMatchesLibopus(t *testing.T) {
	python := needLibopus(t)
	dir := t.TempDir()
	script, silk, hybrid := filepath.Join(dir, "vad.py"), filepath.Join(dir, "silk.pk"), filepath.Join(dir, "hybrid.pk")
	if err := os.WriteFile(script, []byte(libopusVADScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, script, silk, hybrid).CombinedOutput(); err != nil {
		t.Fatalf("libopus script: %v\n%s", err, out)
	}
	dec, err := NewDecoder(Opus)
	if err != nil {
		t.Fatal(err)
	}
	vad := dec.(Activity)
	for _, file := range []string{silk, hybrid} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(file)
		packets := splitPackets(b)
		if len(packets) != 200 {
			t.Fatalf("%s: %d packets, want 200", name, len(packets))
		}
		var toneFlagged, toneInactive, noiseFlagged, noiseInactive int
		for i, p := range packets {
			mode := gopus.ParseTOC(p[0]).Mode
			flagged := mode == gopus.ModeSILK || mode == gopus.ModeHybrid
			inSyllable := i < 60 && i%12 >= 1 && i%12 < 8 // past its onset
			switch {
			case !flagged && vad.Inactive(p):
				t.Errorf("%s: CELT frame %d read as voiceless", name, i)
			case inSyllable && flagged:
				toneFlagged++
				if vad.Inactive(p) {
					toneInactive++
				}
			case i >= 120 && flagged:
				noiseFlagged++
				if vad.Inactive(p) {
					noiseInactive++
				}
			}
		}
		t.Logf("%s: tone %d of %d SILK/hybrid frames voiceless; settled noise %d of %d", name, toneInactive, toneFlagged, noiseInactive, noiseFlagged)
		if toneFlagged < 30 || noiseFlagged < 40 {
			t.Fatalf("%s: libopus coded only %d tone and %d noise frames in SILK or hybrid mode", name, toneFlagged, noiseFlagged)
		}
		if toneInactive > toneFlagged/5 {
			t.Errorf("%s: %d of %d tone frames read as voiceless", name, toneInactive, toneFlagged)
		}
		if noiseInactive < noiseFlagged*9/10 {
			t.Errorf("%s: only %d of %d settled line-noise frames read as voiceless", name, noiseInactive, noiseFlagged)
		}
	}
}

// splitPackets cuts a packet file (2-byte big-endian lengths, each followed
// by its packet) into packets.
func splitPackets(b []byte) [][]byte {
	var out [][]byte
	for i := 0; i+2 <= len(b); {
		n := int(binary.BigEndian.Uint16(b[i:]))
		i += 2
		if i+n > len(b) {
			break
		}
		out = append(out, b[i:i+n])
		i += n
	}
	return out
}
