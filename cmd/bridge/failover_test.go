package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc/muctest"
)

// TestComponentLinkFailover runs two bridge processes sharing Redis and one
// component domain: one holds the XMPP component link and the other stands
// by, both ready for calls; after kill -9 of the holder, the other takes the
// link over once the lease lapses (5 s).
func TestComponentLinkFailover(t *testing.T) {
	bin := bridgeBinary(t)
	testpeer.Need(t, "prosody", "redis-server")
	prosody := muctest.NewProsody(t, muctest.ProsodyConfig{})
	redis := testpeer.StartRedisServer(t)

	type node struct {
		proc *bridgeProcess
		http string
	}
	start := func(id string) node {
		httpAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t))
		return node{http: httpAddr, proc: startBridge(t, bin,
			cleanEnv("BRIDGE_XMPP_SECRET="+prosody.ComponentSecret, "BRIDGE_REDIS_URL="+redis.URL),
			"--sip-listen", fmt.Sprintf("127.0.0.1:%d", testpeer.FreeUDPPort(t)),
			"--sip-domain", "127.0.0.1",
			"--http-listen", httpAddr,
			"--data-dir", t.TempDir(),
			"--xmpp-component", prosody.ComponentAddr,
			"--xmpp-domain", prosody.Components[0],
			"--node-id", id,
		)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	first := start("node-1")
	if err := waitHTTP(ctx, "http://"+first.http+"/readyz", 200); err != nil {
		t.Fatalf("the first node: %v", err)
	}
	waitMetric(t, ctx, first.http, "bridge_muc_link_up", func(v float64) bool { return v == 1 })
	second := start("node-2")
	if err := waitHTTP(ctx, "http://"+second.http+"/readyz", 200); err != nil {
		t.Fatalf("the standby node is not ready for calls: %v", err)
	}
	if up := metricValue(t, second.http, "bridge_muc_link_up"); up != 0 {
		t.Fatalf("both nodes hold the component link (node-2 link_up = %v)", up)
	}

	if err := first.proc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, ctx, second.http, "bridge_muc_link_up", func(v float64) bool { return v == 1 })
}
