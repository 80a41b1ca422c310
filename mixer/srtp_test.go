package mixer

import (
	"bytes"
	"crypto/rand"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/srtp/v2"

	"cusax.dev/bridge/internal/testpeer"
)

func srtpKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 30)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func srtpContext(t testing.TB, key []byte) *srtp.Context {
	t.Helper()
	c, err := srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSRTPLeg: an SRTP phone and a plain one in a room hear each other,
// the SRTP phone's packets are SRTP both ways, and a tampered packet from
// the SRTP phone's own address is dropped and counted while the call goes
// on.
func TestSRTPLeg(t *testing.T) {
	m := newTestMixer(t, Config{})
	phoneKey, bridgeKey := srtpKey(t), srtpKey(t)
	secure := newRTPPeer(t)
	enc, dec := srtpContext(t, phoneKey), srtpContext(t, bridgeKey)
	var tamper bool
	secure.protect = func(b []byte) []byte {
		out, err := enc.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Error(err)
		}
		if tamper {
			out[len(out)-1] ^= 0xff // breaks the authentication tag
		}
		return out
	}
	secure.unprotect = func(b []byte) ([]byte, error) { return dec.DecryptRTP(nil, b, nil) }
	sl, err := m.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMU"}, Remote: secure.addr(),
		SRTP: &SRTPKeys{Suite: SuiteAES128SHA1_80, Local: bridgeKey, Remote: phoneKey}})
	if err != nil {
		t.Fatal(err)
	}
	if !sl.Encrypted() {
		t.Error("an SRTP leg says it is not encrypted")
	}
	plain := newRTPPeer(t)
	pl, err := m.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMU"}, Remote: plain.addr()})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Encrypted() {
		t.Error("a plain leg says it is encrypted")
	}
	secure.start(sl.LocalAddr(), &testpeer.ToneGen{Freq: 1000, Rate: 8000, Amp: 0.25})
	plain.start(pl.LocalAddr(), &testpeer.ToneGen{Freq: 440, Rate: 8000, Amp: 0.25})
	secure.waitSamples(t, 4000)
	plain.waitSamples(t, 4000)
	ms, mp := secure.received(), plain.received()
	secure.waitSamples(t, ms+8000)
	plain.waitSamples(t, mp+8000)
	if a := testpeer.ToneAmplitude(plain.since(mp), 1000, 8000); a < 0.05 {
		t.Errorf("the plain phone hears the SRTP phone at %.3f, want about 0.25", a)
	}
	// Heard means well above silence; a loaded machine's scheduling jitter
	// breaks the tone's phase and lowers the measure, not the level.
	if a := testpeer.ToneAmplitude(secure.since(ms), 440, 8000); a < 0.05 {
		secure.mu.Lock()
		t.Errorf("the SRTP phone hears the plain one at %.3f, want about 0.25 (%d packets, %d unreadable, RMS %.3f)", a, secure.packets, secure.badSRTP, testpeer.RMS(secure.got[ms:]))
		secure.mu.Unlock()
	}
	secure.mu.Lock()
	bad := secure.badSRTP
	tamper = true
	secure.mu.Unlock()
	if bad != 0 {
		t.Errorf("the SRTP phone could not authenticate %d packets from the bridge", bad)
	}

	before := counterValue(m.met.dropped[dropSRTP])
	mp = plain.received() + 800
	plain.waitSamples(t, mp+4000)
	if a := testpeer.ToneAmplitude(plain.since(mp), 1000, 8000); a > 0.01 {
		t.Errorf("tampered SRTP reached the mix: the plain phone hears 1000 Hz at %.3f", a)
	}
	if after := counterValue(m.met.dropped[dropSRTP]); after-before < 20 {
		t.Errorf("%v tampered packets counted in 0.6 s of them, want about 30", after-before)
	}
	secure.mu.Lock()
	tamper = false
	secure.mu.Unlock()
	mp = plain.received() + 800
	plain.waitSamples(t, mp+4000)
	if a := testpeer.ToneAmplitude(plain.since(mp), 1000, 8000); a < 0.05 {
		t.Errorf("after the tampering stopped, the call did not go on: 1000 Hz at %.3f", a)
	}
}

// TestSRTPKeysChecked: a bad suite or key length is refused when the leg is
// made, so the signalling can answer 488 before anything is mixed.
func TestSRTPKeysChecked(t *testing.T) {
	m := newTestMixer(t, Config{})
	good := srtpKey(t)
	for _, tc := range []struct {
		name string
		keys SRTPKeys
		want string
	}{
		{"unknown suite", SRTPKeys{Suite: "F8_128_HMAC_SHA1_80", Local: good, Remote: good}, "not supported"},
		{"short remote key", SRTPKeys{Suite: SuiteAES128SHA1_80, Local: good, Remote: good[:20]}, "remote SRTP key"},
		{"long local key", SRTPKeys{Suite: SuiteAES128SHA1_32, Local: append(bytes.Clone(good), 1), Remote: good}, "local SRTP key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.keys
			_, err := m.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMU"}, Remote: netip.MustParseAddrPort("127.0.0.1:9"), SRTP: &k})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AddLeg = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
