//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cusax.dev/bridge/internal/testpeer"
)

func TestRealtimePrioritySetting(t *testing.T) {
	checkIntSetting(t, "realtime-priority", 0, 99, []string{"100", "-1", "high", "1.5"},
		func(c Config) int { return c.RealtimePrio })
}

// TestRealtimeBinary runs the real binary with --realtime-priority: every
// thread it has once it serves, including those the runtime started after
// the setting was applied, runs under SCHED_RR at that priority; without
// the capability it stops at once and says what it needs.
func TestRealtimeBinary(t *testing.T) {
	bin := bridgeBinary(t)
	if !canSetRealtime() {
		if testpeer.InCI() {
			t.Fatal("this test needs CAP_SYS_NICE (CI runs as root)")
		}
		t.Skip("needs CAP_SYS_NICE: run the tests as root")
	}
	const prio = 3

	t.Run("every thread under SCHED_RR", func(t *testing.T) {
		httpAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t))
		proc := startBridge(t, bin, cleanEnv(),
			"--http-listen", httpAddr,
			"--sip-listen", fmt.Sprintf("127.0.0.1:%d", testpeer.FreeUDPPort(t)),
			"--sip-domain", "127.0.0.1",
			"--data-dir", t.TempDir(),
			"--realtime-priority", strconv.Itoa(prio),
		)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := waitHTTP(ctx, "http://"+httpAddr+"/readyz", http.StatusOK); err != nil {
			t.Fatalf("/readyz never answered 200: %v", err)
		}
		// Serving a few requests wakes idle threads and may start new ones.
		for range 20 {
			get(t, "http://"+httpAddr+"/metrics", http.StatusOK)
		}
		pid := proc.cmd.Process.Pid
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) < 2 {
			t.Fatalf("the bridge has %d threads; want several to check", len(entries))
		}
		for _, e := range entries {
			tid, _ := strconv.Atoi(e.Name())
			a, err := unix.SchedGetAttr(tid, 0)
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Policy != unix.SCHED_RR || a.Priority != prio {
				t.Errorf("thread %d: policy %d priority %d, want SCHED_RR (%d) priority %d", tid, a.Policy, a.Priority, unix.SCHED_RR, prio)
			}
		}
		if !strings.Contains(proc.logs.String(), "real-time scheduling on") {
			t.Errorf("the log does not say real-time scheduling is on:\n%s", proc.logs.String())
		}
		if err := proc.stop(ctx); err != nil {
			t.Error(err)
		}
	})

	t.Run("without CAP_SYS_NICE it refuses to start", func(t *testing.T) {
		setpriv := testpeer.Need(t, "setpriv")[0]
		cmd := exec.Command(setpriv, "--inh-caps=-sys_nice", "--bounding-set=-sys_nice", bin,
			"--http-listen", fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t)),
			"--sip-listen", fmt.Sprintf("127.0.0.1:%d", testpeer.FreeUDPPort(t)),
			"--sip-domain", "127.0.0.1",
			"--data-dir", t.TempDir(),
			"--realtime-priority", strconv.Itoa(prio),
		)
		cmd.Env = cleanEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitFailure {
				t.Fatalf("exit = %v, want status %d; stderr:\n%s", err, exitFailure, stderr.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("the bridge kept running without the capability; stderr:\n%s", stderr.String())
		}
		for _, want := range []string{"--realtime-priority 3", "operation not permitted", "CAP_SYS_NICE", "RLIMIT_RTPRIO"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
			}
		}
	})
}

// canSetRealtime reports whether this process could make a thread SCHED_RR:
// it has CAP_SYS_NICE, or an RLIMIT_RTPRIO that allows it.
func canSetRealtime() bool {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_RTPRIO, &lim) == nil && lim.Cur >= 3 {
		return true
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<unix.CAP_SYS_NICE) != 0
		}
	}
	return false
}
