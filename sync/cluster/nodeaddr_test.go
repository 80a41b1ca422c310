package cluster

import "testing"

func TestNodeAddr(t *testing.T) {
	for _, c := range []struct{ uri, want string }{
		{"sip:10.0.0.7:5060", "10.0.0.7"},
		{"sip:10.0.0.7", "10.0.0.7"},
		{"sips:[2001:db8::7]:5061;transport=tls", "2001:db8::7"},
		{"sip:[2001:db8::7]", "2001:db8::7"},
		{"sip:room@10.0.0.8:5070", "10.0.0.8"},
		{"sip:bridge.example.test:5060", "invalid IP"},
		{"", "invalid IP"},
	} {
		if got := nodeAddr(c.uri).String(); got != c.want {
			t.Errorf("nodeAddr(%q) = %s, want %s", c.uri, got, c.want)
		}
	}
}
