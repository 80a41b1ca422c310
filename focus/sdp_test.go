package focus

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

var testCodecs = []Codec{
	{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2},
	{Name: "G722", PayloadType: 9, ClockRate: 8000, Channels: 1},
	{Name: "PCMU", PayloadType: 0, ClockRate: 8000, Channels: 1},
	{Name: "PCMA", PayloadType: 8, ClockRate: 8000, Channels: 1},
}

var loopback = netip.MustParseAddr("127.0.0.1")

func sdpOf(media string) string {
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + strings.ReplaceAll(media, "\n", "\r\n")
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		codec   string
		pt      uint8
		te      uint8
		dir     Direction
		remote  string
		warning int
	}{
		{name: "pcmu", body: sdpOf("m=audio 4000 RTP/AVP 0\n"), codec: "PCMU", pt: 0, dir: SendRecv, remote: "127.0.0.1:4000"},
		{name: "opus preferred", body: sdpOf("m=audio 4000 RTP/AVP 0 120\na=rtpmap:120 opus/48000/2\n"), codec: "opus", pt: 120, dir: SendRecv, remote: "127.0.0.1:4000"},
		{name: "opus mono is not opus", body: sdpOf("m=audio 4000 RTP/AVP 120 8\na=rtpmap:120 opus/48000/1\n"), codec: "PCMA", pt: 8, dir: SendRecv, remote: "127.0.0.1:4000"},
		{name: "te matching rate", body: sdpOf("m=audio 4000 RTP/AVP 9 101 102\na=rtpmap:101 telephone-event/16000\na=rtpmap:102 telephone-event/8000\n"), codec: "G722", pt: 9, te: 102, dir: SendRecv, remote: "127.0.0.1:4000"},
		{name: "sendonly is hold", body: sdpOf("m=audio 4000 RTP/AVP 0\na=sendonly\n"), codec: "PCMU", dir: SendOnly, remote: "127.0.0.1:4000"},
		{name: "session-level inactive", body: strings.Replace(sdpOf("m=audio 4000 RTP/AVP 0\n"), "t=0 0\r\n", "t=0 0\r\na=inactive\r\n", 1), codec: "PCMU", dir: Inactive, remote: "127.0.0.1:4000"},
		{name: "0.0.0.0 hold", body: strings.Replace(sdpOf("m=audio 4000 RTP/AVP 0\n"), "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1), codec: "PCMU", dir: SendRecv, remote: "invalid AddrPort"},
		{name: "media-level c=", body: sdpOf("m=audio 4000 RTP/AVP 0\nc=IN IP4 127.0.0.2\n"), codec: "PCMU", dir: SendRecv, remote: "127.0.0.2:4000"},
		{name: "first audio declined, second taken", body: sdpOf("m=audio 0 RTP/AVP 0\nm=audio 4002 RTP/AVP 8\n"), codec: "PCMA", pt: 8, dir: SendRecv, remote: "127.0.0.1:4002"},
		{name: "video only", body: sdpOf("m=video 4000 RTP/AVP 96\n"), warning: warnMediaType},
		{name: "savp", body: sdpOf("m=audio 4000 RTP/SAVP 0\n"), warning: warnTransport},
		{name: "ipv6", body: strings.Replace(sdpOf("m=audio 4000 RTP/AVP 0\n"), "c=IN IP4 127.0.0.1", "c=IN IP6 ::1", 1), warning: warnAddressFormat},
		{name: "mismatched family", body: strings.Replace(sdpOf("m=audio 4000 RTP/AVP 0\n"), "c=IN IP4 127.0.0.1", "c=IN IP4 ::1", 1), warning: warnAddressFormat},
		{name: "multicast", body: strings.Replace(sdpOf("m=audio 4000 RTP/AVP 0\n"), "c=IN IP4 127.0.0.1", "c=IN IP4 224.2.1.1", 1), warning: warnAddressFormat},
		{name: "no codec", body: sdpOf("m=audio 4000 RTP/AVP 3 18 200\n"), warning: warnMediaFormat},
		{name: "port too big", body: sdpOf("m=audio 99999 RTP/AVP 0\n"), warning: warnMisc},
		{name: "no c= line", body: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", warning: warnMisc},
		{name: "garbage", body: "hello", warning: warnMisc},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sd, err := parseSDP([]byte(tc.body))
			var n negotiated
			if err == nil {
				n, err = negotiate(sd, testCodecs, loopback)
			}
			if tc.warning != 0 {
				var se *sdpError
				if !errors.As(err, &se) || se.Warning != tc.warning {
					t.Fatalf("err %v, want warning %d", err, tc.warning)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Codec.Name != tc.codec || n.Codec.PayloadType != tc.pt || n.TelephoneEvent != tc.te || n.Direction != tc.dir || n.Remote.String() != tc.remote {
				t.Errorf("got %+v", n)
			}
		})
	}
}

func TestAnswerMirrorsOffer(t *testing.T) {
	sd, err := parseSDP([]byte(sdpOf("m=video 5000 RTP/AVP 96 97\nm=audio 4000 RTP/AVP 0\nm=application 6000 UDP/BFCP *\n")))
	if err != nil {
		t.Fatal(err)
	}
	n, err := negotiate(sd, testCodecs, loopback)
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildAnswer(sd, n, netip.MustParseAddrPort("127.0.0.1:30000"), sdpOrigin{SessionID: 7, Version: 3})
	if err != nil {
		t.Fatal(err)
	}
	var ans sdp.SessionDescription
	if err := ans.Unmarshal(b); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	got := []string{}
	for _, md := range ans.MediaDescriptions {
		got = append(got, md.MediaName.Media+" "+md.MediaName.Port.String())
	}
	if strings.Join(got, ",") != "video 0,audio 30000,application 0" {
		t.Errorf("m= lines %v", got)
	}
	if ans.Origin.SessionVersion != 3 || ans.Origin.SessionID != 7 {
		t.Errorf("origin %+v", ans.Origin)
	}
}

func TestOfferHasTelephoneEventPerRate(t *testing.T) {
	b, err := buildOffer(testCodecs, netip.MustParseAddrPort("127.0.0.1:30000"), sdpOrigin{SessionID: 1, Version: 1}, SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"m=audio 30000 RTP/AVP 111 9 0 8 101 102", "a=rtpmap:101 telephone-event/48000", "a=rtpmap:102 telephone-event/8000", "a=rtpmap:111 opus/48000/2"} {
		if !strings.Contains(s, want) {
			t.Errorf("offer lacks %q:\n%s", want, s)
		}
	}
	// An answer to our own offer parses back to what was chosen.
	n, err := parseAnswer([]byte(sdpOf("m=audio 4000 RTP/AVP 0 102\na=rtpmap:102 telephone-event/8000\n")), testCodecs, loopback)
	if err != nil || n.Codec.Name != "PCMU" || n.TelephoneEvent != 102 {
		t.Errorf("answer: %+v %v", n, err)
	}
}

// FuzzNegotiate feeds arbitrary SDP through the whole offer/answer path:
// nothing may panic, and an accepted offer must give an answer that parses
// and mirrors the offer's m= lines.
func FuzzNegotiate(f *testing.F) {
	f.Add([]byte(sdpOf("m=audio 4000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\na=sendrecv\n")))
	f.Add([]byte(sdpOf("m=video 5000 RTP/AVP 96\nm=audio 4000 RTP/AVP 96\na=rtpmap:96 opus/48000/2\n")))
	f.Add([]byte(sdpOf("m=audio 0 RTP/AVP 0\nm=audio 4002 RTP/AVP 8 9\na=inactive\n")))
	f.Add([]byte(strings.Replace(sdpOf("m=audio 4000 RTP/AVP 0\n"), "c=IN IP4 127.0.0.1", "c=IN IP6 ::1", 1)))
	f.Add([]byte(sdpOf("m=audio 70000/2 RTP/AVP 300 -1 x\na=rtpmap:300 PCMU/8000\na=rtpmap:0 PCMU/0/99\n")))
	f.Add([]byte("v=0\r\nm=audio\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		sd, err := parseSDP(body)
		if err != nil {
			return
		}
		n, err := negotiate(sd, testCodecs, loopback)
		if err != nil {
			var se *sdpError
			if !errors.As(err, &se) || se.Text == "" {
				t.Fatalf("negotiate error without a Warning: %v", err)
			}
			return
		}
		if n.audioIndex < 0 || n.audioIndex >= len(sd.MediaDescriptions) {
			t.Fatalf("audio index %d of %d", n.audioIndex, len(sd.MediaDescriptions))
		}
		ans, err := buildAnswer(sd, n, netip.MustParseAddrPort("127.0.0.1:30000"), sdpOrigin{SessionID: 1, Version: 1})
		if err != nil {
			return
		}
		var back sdp.SessionDescription
		if err := back.Unmarshal(ans); err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, ans)
		}
		if len(back.MediaDescriptions) != len(sd.MediaDescriptions) {
			t.Fatalf("answer has %d m= lines for %d offered", len(back.MediaDescriptions), len(sd.MediaDescriptions))
		}
	})
}
