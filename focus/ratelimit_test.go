package focus

import (
	"net/netip"
	"testing"
	"time"
)

func TestRateLimiterBurstThenRate(t *testing.T) {
	r := newRateLimiter(2, 3)
	ip := netip.MustParseAddr("127.0.0.1")
	now := time.Unix(1000, 0)
	for i := range 3 {
		if !r.allow(ip, now) {
			t.Fatalf("INVITE %d of the burst of 3 refused", i+1)
		}
	}
	if r.allow(ip, now) {
		t.Fatal("a fourth INVITE at once was allowed past a burst of 3")
	}
	if r.allow(netip.MustParseAddr("127.0.0.2"), now) != true {
		t.Fatal("another address shares the first one's bucket")
	}
	if !r.allow(ip, now.Add(500*time.Millisecond)) {
		t.Fatal("half a second at 2/s did not give back a token")
	}
}

func TestRateLimiterOff(t *testing.T) {
	r := newRateLimiter(-1, 0)
	ip := netip.MustParseAddr("127.0.0.1")
	now := time.Unix(1000, 0)
	for i := range 10000 {
		if !r.allow(ip, now) {
			t.Fatalf("INVITE %d refused with the limit off", i+1)
		}
	}
}
