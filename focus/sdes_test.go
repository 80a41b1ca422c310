package focus

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// testSDESKey is a well-formed inline key: 30 bytes, base64.
var testSDESKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcd"))

func savpOffer(crypto ...string) string {
	media := "m=audio 4000 RTP/SAVP 0\n"
	for _, c := range crypto {
		media += "a=crypto:" + c + "\n"
	}
	return sdpOf(media)
}

// TestNegotiateSDES: an RTP/SAVP offer is taken with the first a=crypto
// line the focus speaks; bad lines are skipped, and with none left the
// offer is refused with the reason.
func TestNegotiateSDES(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		suite      string // the suite taken, "" for a refusal
		tag        string
		wantErr    string
	}{
		{"one line", savpOffer("1 AES_CM_128_HMAC_SHA1_80 inline:" + testSDESKey), SuiteAES128SHA1_80, "1", ""},
		{"first supported wins", savpOffer("1 AEAD_AES_256_GCM inline:"+testSDESKey, "2 AES_CM_128_HMAC_SHA1_32 inline:"+testSDESKey+"|2^20", "3 AES_CM_128_HMAC_SHA1_80 inline:"+testSDESKey), SuiteAES128SHA1_32, "2", ""},
		{"lifetime kept out of the key", savpOffer("7 AES_CM_128_HMAC_SHA1_80 inline:" + testSDESKey + "|2^31"), SuiteAES128SHA1_80, "7", ""},
		{"no crypto line", savpOffer(), "", "", "without an a=crypto line"},
		{"short key", savpOffer("1 AES_CM_128_HMAC_SHA1_80 inline:QUJD"), "", "", "is 3 bytes, want 30"},
		{"not base64", savpOffer("1 AES_CM_128_HMAC_SHA1_80 inline:!!!"), "", "", "not base64"},
		{"MKI", savpOffer("1 AES_CM_128_HMAC_SHA1_80 inline:" + testSDESKey + "|1:4"), "", "", "MKI"},
		{"two keys", savpOffer("1 AES_CM_128_HMAC_SHA1_80 inline:" + testSDESKey + ";inline:" + testSDESKey), "", "", "one key per line"},
		{"bad tag", savpOffer("x AES_CM_128_HMAC_SHA1_80 inline:" + testSDESKey), "", "", "not a number"},
		{"other key method", savpOffer("1 AES_CM_128_HMAC_SHA1_80 uri:http://x"), "", "", "only inline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sd, err := parseSDP([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			n, err := negotiate(sd, testCodecs, loopback)
			if tc.wantErr != "" {
				var se *sdpError
				if !errors.As(err, &se) || se.Warning != warnTransport || !strings.Contains(se.Text, tc.wantErr) {
					t.Fatalf("negotiate = %+v, %v; want a 302 warning containing %q", n, err, tc.wantErr)
				}
				return
			}
			if err != nil || n.Crypto == nil || n.Crypto.Suite != tc.suite || n.Crypto.Tag != tc.tag || len(n.Crypto.Key) != sdesKeyLen {
				t.Fatalf("negotiate = %+v (crypto %+v), %v; want suite %s tag %s", n, n.Crypto, err, tc.suite, tc.tag)
			}
			if n.media() != MediaSRTP {
				t.Errorf("media = %q, want srtp", n.media())
			}
		})
	}
}

// TestAnswerCarriesTheFocusKey: the answer to an SDES offer is RTP/SAVP
// with the offer's tag and suite and the focus's own key, never the
// phone's.
func TestAnswerCarriesTheFocusKey(t *testing.T) {
	sd, _ := parseSDP([]byte(savpOffer("5 AES_CM_128_HMAC_SHA1_80 inline:" + testSDESKey)))
	n, err := negotiate(sd, testCodecs, loopback)
	if err != nil {
		t.Fatal(err)
	}
	n.LocalKey = newSDESKey()
	ans, err := buildAnswer(sd, n, netip.AddrPortFrom(loopback, 40000), sdpOrigin{SessionID: 1, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := string(ans)
	want := "a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(n.LocalKey)
	if !strings.Contains(a, "m=audio 40000 RTP/SAVP 0") || !strings.Contains(a, want) {
		t.Errorf("answer lacks RTP/SAVP or %q:\n%s", want, a)
	}
	if strings.Contains(a, testSDESKey) {
		t.Errorf("answer echoes the phone's key:\n%s", a)
	}
	keys := n.srtpKeys()
	if keys == nil || string(keys.Local) != string(n.LocalKey) || string(keys.Remote) != string(n.Crypto.Key) {
		t.Errorf("media keys %+v do not match the exchange", keys)
	}
}

// FuzzParseCrypto: any a=crypto value gives a line or an error, never a
// panic, and an accepted line has a numeric tag and a decoded key.
func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + testSDESKey)
	f.Add("2 AES_CM_128_HMAC_SHA1_32 inline:" + testSDESKey + "|2^20|1:4")
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + testSDESKey + ";inline:" + testSDESKey + " KDR=1")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		c, err := parseCrypto(v)
		if err != nil {
			return
		}
		if c.Tag == "" || strings.Trim(c.Tag, "0123456789") != "" {
			t.Fatalf("accepted tag %q", c.Tag)
		}
		if c.Key == nil {
			t.Fatalf("accepted %q with no key", v)
		}
	})
}
