package focus_test

import (
	"context"
	"cusax.dev/bridge/focus"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"
)

// sdesKey is a well-formed SDES inline key (30 bytes, base64).
const sdesKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNk"

func TestInviteRefusals(t *testing.T) {
	admit := func(_ context.Context, c focus.CallFacts) focus.Admission {
		switch c.Room {
		case "banned":
			return focus.Admission{Verdict: focus.Forbidden}
		case "full":
			return focus.Admission{Verdict: focus.RoomFull}
		case "busy":
			return focus.Admission{Verdict: focus.NodeFull, RetryAfter: 7 * time.Second}
		case "closing":
			return focus.Admission{Verdict: focus.RoomClosing}
		case "unknown":
			return focus.Admission{Verdict: focus.UnknownRoom}
		}
		return focus.Admission{}
	}
	f, fm, _ := startFocus(t, focus.Config{Admit: admit})
	p := newRawPhone(t, f)
	good := offer(40000, "0")
	cases := []struct {
		name, room, extra, body string
		code                    int
		header, contains        string
	}{
		{"forbidden", "banned", "", good, 403, "", ""},
		{"room full", "full", "", good, 486, "", ""},
		{"node full", "busy", "", good, 503, "Retry-After", "7"},
		{"room closing", "closing", "", good, 480, "", ""},
		{"unknown room", "unknown", "", good, 404, "", ""},
		{"bad room name", "no%20such", "", good, 404, "", ""},
		{"no audio", "r", "", strings.Replace(good, "m=audio 40000 RTP/AVP 0", "m=video 40000 RTP/AVP 96\na=rtpmap:96 VP8/90000", 1), 488, "Warning", "304"},
		{"no common codec", "r", "", offer(40000, "3 18"), 488, "Warning", "PCMU"},
		{"SRTP without a key", "r", "", strings.Replace(good, "RTP/AVP", "RTP/SAVP", 1), 488, "Warning", "302"},
		{"SDES keys over UDP", "r", "", strings.Replace(good, "RTP/AVP 0", "RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+sdesKey, 1), 488, "Warning", "over TLS only"},
		{"SDES key of the wrong length", "r", "", strings.Replace(good, "RTP/AVP 0", "RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD", 1), 488, "Warning", "30"},
		{"unknown SRTP suite", "r", "", strings.Replace(good, "RTP/AVP 0", "RTP/SAVP 0\na=crypto:1 F8_128_HMAC_SHA1_80 inline:"+sdesKey, 1), 488, "Warning", "not supported"},
		{"IPv6 offer", "r", "", strings.Replace(good, "IN IP4 127.0.0.1\nt", "IN IP6 ::1\nt", 1), 488, "Warning", "301"},
		{"hostname in c=", "r", "", strings.Replace(good, "IN IP4 127.0.0.1\nt", "IN IP4 phone.example\nt", 1), 488, "Warning", "301"},
		{"absurd port", "r", "", offer(70000, "0"), 488, "Warning", ""},
		{"absurd payload types", "r", "", offer(40000, "200 300 -1"), 488, "Warning", "305"},
		{"garbage SDP", "r", "", "this is not SDP\n", 488, "Warning", "399"},
		{"not SDP", "r", "Content-Type: text/plain\n", "hello", 415, "Accept", "application/sdp"},
		{"unknown Require", "r", "Require: 100rel\n", good, 420, "Unsupported", "100rel"},
		{"session interval too small", "r", "Supported: timer\nSession-Expires: 30\n", good, 422, "Min-SE", "90"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := p.Call(tc.room)
			var res *sip.Response
			if strings.HasPrefix(tc.extra, "Content-Type") {
				c.P.Send(c.Request("INVITE", tc.extra, tc.body))
				res = p.Response(sip.INVITE, false)
			} else {
				res = c.Invite(tc.extra, tc.body)
			}
			if res.StatusCode != tc.code {
				t.Fatalf("answered %d %s, want %d", res.StatusCode, res.Reason, tc.code)
			}
			if tc.header != "" {
				h := res.GetHeader(tc.header)
				if h == nil || !strings.Contains(h.Value(), tc.contains) {
					t.Fatalf("%s = %v, want it to contain %q", tc.header, h, tc.contains)
				}
			}
			c.Send("ACK", "", "")
		})
	}
	if n := fm.Open(); n != 0 {
		t.Errorf("%d media legs left open after refusals", n)
	}
	if len(f.Legs("")) != 0 {
		t.Errorf("legs left: %+v", f.Legs(""))
	}
}

func TestSDPMixedStreams(t *testing.T) {
	f, _, _ := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	body := "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n" +
		"m=video 50000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n" +
		"m=audio 40000 RTP/AVP 0\n" +
		"m=audio 40002 RTP/AVP 8\n"
	c := p.Call("mixed")
	res := c.Invite("", body)
	if res.StatusCode != 200 {
		t.Fatalf("answered %d", res.StatusCode)
	}
	var ans sdp.SessionDescription
	if err := ans.Unmarshal(res.Body()); err != nil {
		t.Fatal(err)
	}
	if len(ans.MediaDescriptions) != 3 {
		t.Fatalf("answer has %d m= lines, want 3 (one per offered)", len(ans.MediaDescriptions))
	}
	ports := []int{ans.MediaDescriptions[0].MediaName.Port.Value, ans.MediaDescriptions[1].MediaName.Port.Value, ans.MediaDescriptions[2].MediaName.Port.Value}
	if ports[0] != 0 || ports[1] == 0 || ports[2] != 0 {
		t.Errorf("ports %v: want video and second audio declined with 0", ports)
	}
	if ans.MediaDescriptions[0].MediaName.Media != "video" {
		t.Errorf("first m= line %q, want video", ans.MediaDescriptions[0].MediaName.Media)
	}
	c.Bye()
}

func TestMalformedSIPGets400(t *testing.T) {
	f, _, _ := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	// A CSeq that is not a number: unparseable, but it carries a Via.
	p.Send("INVITE sip:r@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP " + p.Addr().String() + ";branch=z9hG4bKbad1\nFrom: <sip:a@127.0.0.1>;tag=1\nTo: <sip:r@127.0.0.1>\nCall-ID: bad1\nCSeq: many INVITE\nContent-Length: 0\n\n")
	select {
	case m := <-p.Raw:
		if !strings.HasPrefix(m, "SIP/2.0 400 ") || !strings.Contains(m, "Call-ID: bad1") || !strings.Contains(m, "branch=z9hG4bKbad1") {
			t.Fatalf("got %q, want a 400 matching the request", m)
		}
	case m := <-p.Inbox:
		t.Fatalf("got %v, want 400", m)
	case <-time.After(10 * time.Second):
		t.Fatal("no 400 for a malformed request")
	}
	// Missing From tag: parseable but invalid.
	p.Send("OPTIONS sip:r@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP " + p.Addr().String() + ";branch=z9hG4bKbad2\nFrom: <sip:a@127.0.0.1>\nTo: <sip:r@127.0.0.1>\nCall-ID: bad2\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n")
	if res := p.Response(sip.OPTIONS, false); res.StatusCode != 400 {
		t.Fatalf("OPTIONS without From tag answered %d", res.StatusCode)
	}
	// Pure garbage is dropped, and the focus still answers afterwards.
	p.Send("\x00\x01garbage\xff")
	c := p.Call("after")
	if res := c.Invite("", offer(40000, "0")); res.StatusCode != 200 {
		t.Fatalf("INVITE after garbage answered %d", res.StatusCode)
	}
	c.Bye()
}

func TestOptionsAndUnknownMethod(t *testing.T) {
	f, _, _ := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	c := p.Call("r")
	c.Send("OPTIONS", "", "")
	res := p.Response(sip.OPTIONS, false)
	if res.StatusCode != 200 || res.GetHeader("Allow") == nil || res.GetHeader("Supported").Value() != "timer" {
		t.Fatalf("OPTIONS: %d %v", res.StatusCode, res)
	}
	c.Send("PUBLISH", "", "")
	if res := p.Response("PUBLISH", false); res.StatusCode != 405 || res.GetHeader("Allow") == nil {
		t.Fatalf("PUBLISH answered %d", res.StatusCode)
	}
}

func TestTCPInvite(t *testing.T) {
	f, fm, _ := startFocus(t, focus.Config{})
	conn, err := net.Dial("tcp", f.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := strings.ReplaceAll(offer(40000, "0"), "\n", "\r\n")
	local := conn.LocalAddr().String()
	req := "INVITE sip:tcproom@" + f.Addr().String() + ";transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP " + local + ";branch=z9hG4bKtcp1\r\nMax-Forwards: 70\r\nFrom: <sip:bob@127.0.0.1>;tag=t1\r\nTo: <sip:tcproom@example.test>\r\nCall-ID: tcp1\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@" + local + ";transport=tcp>\r\nContent-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	parser := sip.NewParser()
	buf := make([]byte, 65535)
	var got []byte
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reading: %v (have %q)", err, got)
		}
		got = append(got, buf[:n]...)
		if strings.Contains(string(got), "SIP/2.0 200 OK") && strings.Contains(string(got), "m=audio") {
			break
		}
	}
	i := strings.Index(string(got), "SIP/2.0 200 OK")
	msg, err := parser.ParseSIP(got[i:])
	if err != nil {
		t.Fatal(err)
	}
	res := msg.(*sip.Response)
	if c := res.Contact(); c == nil || !c.Params.Has("isfocus") || !strings.Contains(c.Address.String(), "transport=tcp") {
		t.Errorf("TCP Contact %v", res.Contact())
	}
	tag, _ := res.To().Params.Get("tag")
	ack := "ACK sip:tcproom@" + f.Addr().String() + ";transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP " + local + ";branch=z9hG4bKtcp2\r\nMax-Forwards: 70\r\nFrom: <sip:bob@127.0.0.1>;tag=t1\r\nTo: <sip:tcproom@example.test>;tag=" + tag + "\r\nCall-ID: tcp1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
	conn.Write([]byte(ack))
	waitFor(t, "connected over TCP", func() bool {
		l := f.Legs("tcproom")
		return len(l) == 1 && l[0].State == "connected"
	})
	// The focus's BYE comes back on the caller's connection.
	go f.Kick(context.Background(), "tcp1", "bye over TCP")
	got = got[:0]
	complete := func() bool {
		j := strings.Index(string(got), "BYE sip:")
		return j >= 0 && strings.Contains(string(got[j:]), "\r\n\r\n")
	}
	for !complete() {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for BYE over TCP: %v (have %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	m, err := parser.ParseSIP(got[strings.Index(string(got), "BYE sip:"):])
	if err != nil {
		t.Fatalf("BYE over TCP does not parse: %v", err)
	}
	conn.Write([]byte(sip.NewResponseFromRequest(m.(*sip.Request), 200, "OK", nil).String()))
	waitFor(t, "released", func() bool { return fm.Open() == 0 })
	conn.Close()
}
