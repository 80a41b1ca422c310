package confinfo

import (
	"strings"
	"testing"
)

// TestSecurityRoundTrip: the security element survives a whole document's
// encode and decode, and odd values are escaped, not injected.
func TestSecurityRoundTrip(t *testing.T) {
	ep := AudioEndpoint(Leg{Entity: "sip:a@example.test", Status: StatusConnected, MediaStatus: MediaSendRecv})
	ep.Media[0].Ext = append(ep.Media[0].Ext, Security("tls", `srtp"/><x a="`))
	info := &Info{Entity: "sip:room@example.test", State: StateFull, Version: 1,
		Users: &Users{User: []User{{Entity: "sip:a@example.test", Endpoints: []Endpoint{ep}}}}}
	b, err := Encode(info)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	sig, media, ok := MediaSecurity(back.Users.User[0].Endpoints[0].Media[0])
	if !ok || sig != "tls" || media != `srtp"/><x a="` {
		t.Fatalf("security after a round trip: %q %q %v\n%s", sig, media, ok, b)
	}
	if strings.Contains(string(b), `<x a=`) {
		t.Errorf("a value became markup:\n%s", b)
	}
	if _, _, ok := MediaSecurity(Media{ID: "1"}); ok {
		t.Error("a stream without the element reports a security level")
	}
}
