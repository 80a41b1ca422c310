package focus_test

import (
	"cusax.dev/bridge/focus"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"
)

func TestInviteAnswerAckBye(t *testing.T) {
	f, fm, events := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	c := p.Call("standup")
	c.Send("INVITE", "Supported: timer\n", offer(40000, "0 8 101", "a=rtpmap:101 telephone-event/8000", "a=sendrecv"))
	trying := p.Response(sip.INVITE, true)
	if trying.StatusCode != 100 {
		t.Fatalf("first answer %d, want 100 Trying", trying.StatusCode)
	}
	res := p.Response(sip.INVITE, false)
	if res.StatusCode != 200 {
		t.Fatalf("INVITE answered %d %s", res.StatusCode, res.Reason)
	}
	c.ToTag, _ = res.To().Params.Get("tag")
	if c.ToTag == "" {
		t.Fatal("200 without To tag")
	}
	contact := res.Contact()
	if contact == nil || !contact.Params.Has("isfocus") || contact.Address.User != "standup" {
		t.Fatalf("Contact %v: want the room URI with ;isfocus", contact)
	}
	if got := res.GetHeader("Allow").Value(); got != "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, SUBSCRIBE, MESSAGE, INFO, REFER" {
		t.Errorf("Allow = %q", got)
	}
	if got := res.GetHeader("Supported").Value(); got != "timer" {
		t.Errorf("Supported = %q", got)
	}
	if h := res.GetHeader("Session-Expires"); h == nil || !strings.Contains(h.Value(), "refresher=uac") {
		t.Errorf("Session-Expires = %v, want refresher=uac", h)
	}
	var ans sdp.SessionDescription
	if err := ans.Unmarshal(res.Body()); err != nil {
		t.Fatalf("answer SDP: %v\n%s", err, res.Body())
	}
	md := ans.MediaDescriptions[0]
	if strings.Join(md.MediaName.Formats, " ") != "0 101" {
		t.Errorf("answer formats %v, want PCMU and telephone-event", md.MediaName.Formats)
	}
	if md.MediaName.Port.Value == 0 {
		t.Error("audio declined")
	}
	c.Send("ACK", "", "")
	waitFor(t, "joined event", func() bool { return len(events.Find(focus.EventJoined)) == 1 })
	l := fm.Leg(1)
	cfg, _, held, _ := l.State()
	if cfg.Codec.Name != "PCMU" || cfg.TelephoneEvent != 101 || cfg.Remote.Port() != 40000 || held {
		t.Errorf("media leg %+v held=%v", cfg, held)
	}
	if got := f.Legs("standup"); len(got) != 1 || got[0].State != "connected" {
		t.Fatalf("legs %+v", got)
	}
	if r := c.Bye(); r.StatusCode != 200 {
		t.Fatalf("BYE answered %d", r.StatusCode)
	}
	waitFor(t, "leg released", func() bool { return fm.Open() == 0 && len(events.Find(focus.EventLeft)) == 1 })
	if ev := events.Find(focus.EventLeft); len(ev) != 1 || ev[0].Reason != "departed" {
		t.Errorf("left events %+v", ev)
	}
	if r := c.Bye(); r.StatusCode != 481 {
		t.Errorf("second BYE answered %d, want 481", r.StatusCode)
	}
}

func TestInviteBestCodec(t *testing.T) {
	f, _, _ := startFocus(t, focus.Config{})
	p := newRawPhone(t, f)
	cases := []struct {
		name, formats string
		attrs         []string
		want          string
	}{
		{"opus first", "0 96 9", []string{"a=rtpmap:96 opus/48000/2"}, "96"},
		{"g722 over pcmu", "8 0 9", nil, "9"},
		{"pcma only", "8", nil, "8"},
		{"te at 8k kept with pcmu", "0 101", []string{"a=rtpmap:101 telephone-event/8000"}, "0 101"},
		{"te at 8k dropped with opus", "96 101", []string{"a=rtpmap:96 opus/48000/2", "a=rtpmap:101 telephone-event/8000"}, "96"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := p.Call("codecs")
			res := c.Invite("", offer(40000, tc.formats, tc.attrs...))
			if res.StatusCode != 200 {
				t.Fatalf("answered %d", res.StatusCode)
			}
			var ans sdp.SessionDescription
			if err := ans.Unmarshal(res.Body()); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ans.MediaDescriptions[0].MediaName.Formats, " "); got != tc.want {
				t.Errorf("formats %q, want %q", got, tc.want)
			}
			c.Bye()
		})
	}
}
