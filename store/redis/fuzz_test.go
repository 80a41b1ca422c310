package redis

import (
	"strings"
	"testing"

	"cusax.dev/bridge/store"
)

// FuzzParseLeaseValue: a lease key read back from Redis is "<token>
// <holder>"; whatever a foreign writer left there gives an error, never a
// panic, and a value this package wrote reads back as written.
func FuzzParseLeaseValue(f *testing.F) {
	for _, s := range []string{"1 node1", "18446744073709551615 n", "0 ", "", " ", "x y", "-1 n", "12", "3 holder with spaces"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		l, err := parseLeaseValue("room:x", v)
		if err != nil {
			return
		}
		if again := leaseValue(l); again != v && !strings.HasPrefix(v, "+") && !strings.HasPrefix(v, "0") {
			t.Errorf("parse(%q) = %+v, which writes back as %q", v, l, again)
		}
		back, err := parseLeaseValue("room:x", leaseValue(store.Lease{Holder: l.Holder, Token: l.Token}))
		if err != nil || back.Holder != l.Holder || back.Token != l.Token {
			t.Errorf("round trip of %+v = %+v, %v", l, back, err)
		}
	})
}

// FuzzParseURL: --redis-url comes from the operator; a bad one gives an
// error, never a panic.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://127.0.0.1:6379", "rediss://u:p@127.0.0.1/1", "unix:///run/r.sock?db=2",
		"redis://127.0.0.1:26379?master_name=m&addr=127.0.0.2:26379",
		"redis://127.0.0.1:7000?addr=127.0.0.1:7001", "redis://[::1]:6379", "redis://%zz", "",
		"redis://127.0.0.1?dial_timeout=abc", "redis://127.0.0.1/1/2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseURL(s)
		if err == nil && len(o.Addrs) == 0 {
			t.Errorf("ParseURL(%q) accepted it with no address", s)
		}
	})
}
