package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
)

// testBinary is the bridge built once for the whole test run (with the race
// detector), shared by the tests that drive it as an operator would.
var testBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testBinary.dir != "" {
		os.RemoveAll(testBinary.dir)
	}
	os.Exit(code)
}

// bridgeBinary returns the path of the real binary, building it on first use.
func bridgeBinary(t *testing.T) string {
	t.Helper()
	testpeer.Integration(t)
	testBinary.once.Do(func() {
		testBinary.dir, testBinary.err = os.MkdirTemp("", "bridge-test-")
		if testBinary.err != nil {
			return
		}
		testBinary.path = filepath.Join(testBinary.dir, "bridge")
		out, err := exec.Command("go", "build", "-race", "-o", testBinary.path, ".").CombinedOutput()
		if err != nil {
			testBinary.err = fmt.Errorf("building the bridge: %w\n%s", err, out)
		}
	})
	if testBinary.err != nil {
		t.Fatal(testBinary.err)
	}
	return testBinary.path
}

// cleanEnv keeps BRIDGE_ settings of the developer's shell out of the test.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BRIDGE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func TestBinary(t *testing.T) {
	bin := bridgeBinary(t)

	t.Run("bad configuration exits 2 with one line", func(t *testing.T) {
		cases := []struct {
			name string
			args []string
			env  []string
			want string
		}{
			{"port range", []string{"--rtp-ports", "30000-20000"}, nil, `bridge: invalid rtp-ports "30000-20000" (from flag --rtp-ports): lower bound 30000 is above upper bound 20000`},
			{"env address", nil, []string{"BRIDGE_HTTP_LISTEN=localhost"}, `bridge: invalid http-listen "localhost" (from environment BRIDGE_HTTP_LISTEN): want host:port`},
			{"yaml key", []string{"--config", writeFile(t, "b.yaml", "sip-listen: 127.0.0.1:5060\nrtp-port: 1-2\n")}, nil, `line 2: unknown setting "rtp-port"`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cmd := exec.Command(bin, append([]string{"--data-dir", t.TempDir()}, c.args...)...)
				cmd.Env = cleanEnv(c.env...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				err := cmd.Run()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 2 {
					t.Fatalf("exit = %v, want status 2; stderr: %s", err, stderr.String())
				}
				out := strings.TrimRight(stderr.String(), "\n")
				if strings.Count(out, "\n") != 0 {
					t.Errorf("stderr has more than one line:\n%s", out)
				}
				if !strings.Contains(out, c.want) {
					t.Errorf("stderr = %q, want it to contain %q", out, c.want)
				}
			})
		}
	})

	t.Run("version and check-config", func(t *testing.T) {
		out, err := exec.Command(bin, "version").Output()
		if err != nil || !strings.HasPrefix(string(out), "bridge ") {
			t.Errorf("version: %v %q", err, out)
		}
		cmd := exec.Command(bin, "check-config", "--data-dir", t.TempDir(), "--xmpp-secret", "s3cret")
		cmd.Env = cleanEnv()
		out, err = cmd.Output()
		if err != nil || !strings.Contains(string(out), "configuration OK") {
			t.Errorf("check-config: %v %q", err, out)
		}
		if strings.Contains(string(out), "s3cret") {
			t.Error("check-config printed the secret")
		}
	})

	t.Run("Redis store: readiness shows Redis without failing on it", func(t *testing.T) {
		testpeer.Need(t, "redis-server")
		redis := testpeer.StartRedisServer(t)
		httpAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t))
		proc := startBridge(t, bin, cleanEnv("BRIDGE_REDIS_URL="+redis.URL),
			"--http-listen", httpAddr,
			"--sip-listen", fmt.Sprintf("127.0.0.1:%d", testpeer.FreeUDPPort(t)),
			"--sip-domain", "127.0.0.1",
			"--data-dir", t.TempDir(),
		)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := waitHTTP(ctx, "http://"+httpAddr+"/readyz", http.StatusOK); err != nil {
			t.Fatalf("/readyz never answered 200 with Redis up: %v", err)
		}
		redis.Kill()
		// The node keeps serving the rooms it owns through an outage, so it
		// stays ready; /readyz says the store is down.
		for !strings.Contains(get(t, "http://"+httpAddr+"/readyz", http.StatusOK), "store: not ready (advisory") {
			if ctx.Err() != nil {
				t.Fatal("/readyz never listed the store as down with Redis killed")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if body := get(t, "http://"+httpAddr+"/healthz", http.StatusOK); !strings.Contains(body, "ok") {
			t.Errorf("/healthz with Redis down = %q, want the process still alive", body)
		}
		if err := proc.stop(ctx); err != nil {
			t.Error(err)
		}
	})

	t.Run("good configuration serves ops and stops on SIGTERM", func(t *testing.T) {
		httpAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreeTCPPort(t))
		proc := startBridge(t, bin, cleanEnv(),
			"--http-listen", httpAddr,
			"--sip-listen", fmt.Sprintf("127.0.0.1:%d", testpeer.FreeUDPPort(t)),
			"--sip-domain", "127.0.0.1",
			"--data-dir", t.TempDir(),
			"--node-id", "test-node",
		)
		logs := proc.logs

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := waitHTTP(ctx, "http://"+httpAddr+"/readyz", http.StatusOK); err != nil {
			t.Fatalf("/readyz never answered 200: %v\nlogs:\n%s", err, logs.String())
		}
		if body := get(t, "http://"+httpAddr+"/healthz", http.StatusOK); !strings.Contains(body, "ok") {
			t.Errorf("/healthz body %q", body)
		}
		metrics := get(t, "http://"+httpAddr+"/metrics", http.StatusOK)
		for _, want := range []string{"# TYPE go_goroutines gauge", "bridge_build_info{"} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}

		if err := proc.stop(ctx); err != nil {
			t.Errorf("%v\nlogs:\n%s", err, logs.String())
		}
		for _, want := range []string{"chat face is OFF", "stopped cleanly"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("logs lack %q:\n%s", want, logs.String())
			}
		}
	})
}

func waitHTTP(ctx context.Context, url string, want int) error {
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = fmt.Errorf("status %d", resp.StatusCode)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, want, body)
	}
	return string(body)
}

// bridgeProcess is the bridge binary running under a test.
type bridgeProcess struct {
	cmd    *exec.Cmd
	logs   *testpeer.Buffer
	exited chan error
}

// startBridge runs the binary bin with env and args; the test's cleanup kills it
// if the test did not stop it.
func startBridge(t *testing.T, bin string, env []string, args ...string) *bridgeProcess {
	t.Helper()
	p := &bridgeProcess{cmd: exec.Command(bin, args...), logs: &testpeer.Buffer{}, exited: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- p.cmd.Wait() }()
	// Wait's result is handed over once; stop and the cleanup both read it.
	go func() { err := <-waited; p.exited <- err; close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("bridge logs:\n%s", p.logs.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *bridgeProcess) stop(ctx context.Context) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err, ok := <-p.exited:
		if !ok {
			return errors.New("the bridge had already exited")
		}
		if err != nil {
			return fmt.Errorf("exit after SIGTERM: %w", err)
		}
		return nil
	case <-ctx.Done():
		return errors.New("still running after SIGTERM")
	}
}
