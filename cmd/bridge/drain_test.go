package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
)

// TestDrainWaitsForCalls: `bridge drain` (Kubernetes' preStop) makes a
// node alone refuse new calls with 503 while its running call goes on, and
// returns once that call has ended.
func TestDrainWaitsForCalls(t *testing.T) {
	bin := bridgeBinary(t)
	sipAddr := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", testpeer.FreeUDPPort(t)))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t))
	rtpLow := 30000 + 2*(int(sipAddr.Port())%4000)
	args := []string{
		"--sip-listen", sipAddr.String(), "--sip-domain", "127.0.0.1",
		"--rtp-ports", fmt.Sprintf("%d-%d", rtpLow, rtpLow+19),
		"--http-listen", httpAddr, "--data-dir", t.TempDir(), "--drain-timeout", "30s",
	}
	startBridge(t, bin, cleanEnv(), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := waitHTTP(ctx, "http://"+httpAddr+"/readyz", 200); err != nil {
		t.Fatal(err)
	}

	phone := focustest.NewRawPhone(t, sipAddr)
	running := phone.Call("standup")
	if res := running.Invite("", focustest.Offer(40000, "0")); res.StatusCode != 200 {
		t.Fatalf("the first call: %d %s", res.StatusCode, res.Reason)
	}

	var out, errOut bytes.Buffer
	drain := exec.CommandContext(ctx, bin, append([]string{"drain"}, args...)...)
	drain.Env, drain.Stdout, drain.Stderr = cleanEnv(), &out, &errOut
	if err := drain.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- drain.Wait() }()

	// Draining: a new call is turned away, the running one stays.
	var refused bool
	up := []*focustest.Call{running}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !refused; {
		c := phone.Call("other")
		res := c.Invite("", focustest.Offer(40002, "0"))
		switch {
		case res.StatusCode == 503:
			refused = true
			if res.GetHeader("Retry-After") == nil {
				t.Error("503 while draining without Retry-After")
			}
		case res.StatusCode == 200:
			up = append(up, c)
			time.Sleep(100 * time.Millisecond) // the drain request has not arrived yet
		default:
			t.Fatalf("a new call while draining: %d %s", res.StatusCode, res.Reason)
		}
	}
	if !refused {
		t.Fatal("new calls were still taken 15 s after `bridge drain` started")
	}
	select {
	case err := <-exited:
		t.Fatalf("bridge drain returned with a call still up: %v\n%s%s", err, out.String(), errOut.String())
	default:
	}

	// Hang up every call; the drain then completes.
	for _, c := range up {
		if res := c.Bye(); res.StatusCode != 200 {
			t.Fatalf("BYE: %d", res.StatusCode)
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("bridge drain: %v\n%s", err, errOut.String())
		}
	case <-ctx.Done():
		t.Fatalf("bridge drain did not return after the calls ended\n%s", errOut.String())
	}
	if !strings.Contains(out.String(), "drained: no calls left") {
		t.Errorf("bridge drain printed %q", out.String())
	}
}
