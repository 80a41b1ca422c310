package confinfo

import (
	"strings"
	"testing"
)

func TestLegHelpers(t *testing.T) {
	s := newTestState(t)
	if s.Entity() != confURI {
		t.Errorf("Entity() = %q", s.Entity())
	}
	const user, leg = "sip:alice@example.test", "sip:alice@192.0.2.1"
	u := AudioUser(user, "Alice", Leg{Entity: leg, Status: StatusAlerting, Joining: JoinDialedIn, MediaLabel: "main", SrcID: "1234", MediaStatus: MediaSendRecv, CallID: "c", FromTag: "f", ToTag: "t"})
	if err := s.AddUser(u); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func() error
		want   []string
	}{
		{"answer", func() error { return s.SetLegStatus(user, leg, StatusConnected, "") },
			[]string{`<status>connected</status>`, `<media id="1"><type>audio</type><label>main</label><src-id>1234</src-id><status>sendrecv</status></media>`}},
		{"mute", func() error { return s.SetLegStatus(user, leg, StatusMutedViaFocus, MediaRecvOnly) },
			[]string{`<status>muted-via-focus</status>`, `<status>recvonly</status>`}},
		{"hold", func() error { return s.SetLegStatus(user, leg, StatusOnHold, MediaInactive) },
			[]string{`<status>on-hold</status>`, `<status>inactive</status>`}},
		{"kick", func() error {
			return s.DisconnectLeg(user, leg, DisconnectBooted, &Execution{Reason: "kicked", By: "xmpp:mod@example.test"})
		}, []string{`<status>disconnected</status>`, `<disconnection-method>booted</disconnection-method>`,
			`<disconnection-info><reason>kicked</reason><by>xmpp:mod@example.test</by></disconnection-info>`,
			`<call-info><sip><call-id>c</call-id><from-tag>f</from-tag><to-tag>t</to-tag></sip></call-info>`}},
	}
	for _, tt := range tests {
		v := s.Version()
		if err := tt.change(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		p, err := s.Partial(v)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		enc := mustEncode(t, s.Full())
		penc := mustEncode(t, p)
		for _, w := range tt.want {
			if !strings.Contains(enc, w) {
				t.Errorf("%s: full document lacks %s:\n%s", tt.name, w, enc)
			}
		}
		if !strings.Contains(penc, `<endpoint entity="`+leg+`" state="partial">`) {
			t.Errorf("%s: partial document does not update the endpoint in place:\n%s", tt.name, penc)
		}
	}
	if err := s.SetLegStatus(user, "sip:nobody@192.0.2.9", StatusConnected, ""); err == nil {
		t.Error("SetLegStatus on an unknown leg succeeded")
	}
}
