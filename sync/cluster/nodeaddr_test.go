package cluster

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt/bolttest"
)

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

// TestIsNode: only the SIP addresses of live registry entries count as
// nodes; a phone at another address does not.
func TestIsNode(t *testing.T) {
	st := bolttest.Open(t)
	ctx := context.Background()
	if err := st.Heartbeat(ctx, store.Node{ID: "other", SIPURI: "sip:10.0.0.8:5060"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Store: st, NodeID: "self", SIPURI: "sip:10.0.0.7:5060"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"10.0.0.7": true, "10.0.0.8": true, "::ffff:10.0.0.8": true, "10.0.0.9": false, "127.0.0.1": false} {
		if got := c.IsNode(ctx, netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsNode(%s) = %v, want %v", addr, got, want)
		}
	}
}
