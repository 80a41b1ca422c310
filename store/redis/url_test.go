package redis_test

import (
	"testing"

	"cusax.dev/bridge/store/redis"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url       string
		addrs     []string
		master    string
		cluster   bool
		db        int
		password  string
		wantError bool
	}{
		{url: "redis://127.0.0.1:6379", addrs: []string{"127.0.0.1:6379"}},
		{url: "redis://:pw@127.0.0.1:6380/2", addrs: []string{"127.0.0.1:6380"}, db: 2, password: "pw"},
		{url: "rediss://127.0.0.1", addrs: []string{"127.0.0.1:6379"}},
		{url: "redis://127.0.0.1:26379?master_name=mymaster&addr=127.0.0.2:26379", addrs: []string{"127.0.0.1:26379", "127.0.0.2:26379"}, master: "mymaster"},
		{url: "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002", addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}, cluster: true},
		{url: "unix:///run/redis.sock", wantError: true}, // handled by Open with a plain client
		{url: "", wantError: true},
		{url: "http://127.0.0.1", wantError: true},
		{url: "redis://127.0.0.1/notanumber", wantError: true},
		{url: "redis://127.0.0.1?no_such_option=1", wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			o, err := redis.ParseURL(tc.url)
			if tc.wantError {
				if err == nil {
					t.Fatalf("ParseURL(%q) = %+v, want an error", tc.url, o)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tc.url, err)
			}
			if len(o.Addrs) != len(tc.addrs) {
				t.Fatalf("Addrs = %v, want %v", o.Addrs, tc.addrs)
			}
			for i := range tc.addrs {
				if o.Addrs[i] != tc.addrs[i] {
					t.Errorf("Addrs = %v, want %v", o.Addrs, tc.addrs)
				}
			}
			if o.MasterName != tc.master || o.IsClusterMode != tc.cluster || o.DB != tc.db || o.Password != tc.password {
				t.Errorf("got master %q cluster %v db %d password %q; want %q %v %d %q",
					o.MasterName, o.IsClusterMode, o.DB, o.Password, tc.master, tc.cluster, tc.db, tc.password)
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx := t.Context()
	// Port 1 on loopback: nothing listens, the dial is refused at once.
	if _, err := redis.Open(ctx, redis.Config{URL: "redis://127.0.0.1:1?dial_timeout=1s&max_retries=-1"}); err == nil {
		t.Fatal("Open of a closed port = nil error")
	}
	if _, err := redis.Open(ctx, redis.Config{URL: "redis://:secret@127.0.0.1:1?max_retries=-1"}); err == nil {
		t.Fatal("Open of a closed port = nil error")
	} else if want := "secret"; contains(err.Error(), want) {
		t.Errorf("error %q shows the password", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
