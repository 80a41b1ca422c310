package join

import (
	"errors"
	"strings"
	"testing"
)

// chromeOffer is the shape of Chromium's audio-only offer.
const chromeOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n"

func TestCheckOffer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		offer   string
		wantPT  uint8
		wantErr string
	}{
		{"chromium", chromeOffer, 111, ""},
		{"other opus number", strings.ReplaceAll(chromeOffer, "111", "109"), 109, ""},
		{"no opus", strings.ReplaceAll(chromeOffer, "opus/48000/2", "ISAC/16000"), 0, "no audio section with Opus"},
		{"audio rejected", strings.Replace(chromeOffer, "m=audio 9", "m=audio 0", 1), 0, "no audio section with Opus"},
		{"rtpmap for an unoffered format", strings.Replace(chromeOffer, "SAVPF 111 63", "SAVPF 63", 1), 0, "no audio section"},
		{"video only", strings.Replace(chromeOffer, "m=audio", "m=video", 1), 0, "no audio section"},
		{"not SDP", "hello", 0, "not valid SDP"},
		{"empty", "", 0, "offer is empty"},
		{"blank", " \r\n", 0, "offer is empty"},
		{"payload type out of range", strings.ReplaceAll(chromeOffer, "111", "300"), 0, "not 0-127"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := checkOffer([]byte(tc.offer))
			if tc.wantErr == "" {
				if err != nil || pt != tc.wantPT {
					t.Fatalf("checkOffer = %d, %v; want %d, nil", pt, err, tc.wantPT)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("checkOffer = %d, %v; want an error containing %q", pt, err, tc.wantErr)
			}
			if tc.wantErr == "no audio section with Opus" && !errors.Is(err, errNoOpus) {
				t.Errorf("want errNoOpus, got %v", err)
			}
		})
	}
}

// FuzzCheckOffer: whatever a browser (or anyone) posts, checkOffer returns
// a payload type or an error, never panics, and never accepts an offer
// without an Opus rtpmap.
func FuzzCheckOffer(f *testing.F) {
	f.Add([]byte(chromeOffer))
	f.Add([]byte(strings.ReplaceAll(chromeOffer, "\r\n", "\n")))
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/48000\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := checkOffer(b)
		if err == nil {
			if pt > 127 {
				t.Fatalf("accepted payload type %d", pt)
			}
			if !strings.Contains(strings.ToLower(string(b)), "opus/48000") {
				t.Fatalf("accepted an offer without opus/48000: %q", b)
			}
		}
	})
}
