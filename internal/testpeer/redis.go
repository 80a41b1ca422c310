package testpeer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisServer is a redis-server process a test started on a loopback port.
type RedisServer struct {
	// URL is redis://127.0.0.1:PORT, ready for the store's Open.
	URL string
	// Addr is 127.0.0.1:PORT, for tools such as redis-cli.
	Addr string
	bin  string
	args []string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	once *sync.Once
	done chan struct{}
}

// StartRedis starts a throwaway redis-server (no snapshot, no AOF) on a free
// loopback port, waits until it accepts connections and stops it in
// t.Cleanup. It returns the server's URL; a test that needs to kill the
// server mid-way uses StartRedisServer for the handle.
func StartRedis(t testing.TB) string {
	t.Helper()
	return StartRedisServer(t).URL
}

// StartRedisServer is StartRedis returning the process handle, so a test can
// Kill or Restart the server to see how a client lives through an outage.
// extraArgs come after the defaults and override them (for example
// "--appendonly", "yes", "--appendfsync", "always").
func StartRedisServer(t testing.TB, extraArgs ...string) *RedisServer {
	t.Helper()
	bin := Need(t, "redis-server")[0]
	port := FreeTCPPort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"--save", "", "--appendonly", "no", "--port", strconv.Itoa(port),
		"--bind", "127.0.0.1", "--dir", t.TempDir()}, extraArgs...)
	r := &RedisServer{URL: "redis://" + addr, Addr: addr, bin: bin, args: args}
	r.start(t)
	t.Cleanup(r.Kill)
	return r
}

func (r *RedisServer) start(t testing.TB) {
	t.Helper()
	r.out, r.once, r.done = &bytes.Buffer{}, &sync.Once{}, make(chan struct{})
	r.cmd = exec.Command(r.bin, r.args...)
	r.cmd.Stdout = r.out
	r.cmd.Stderr = r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	done := r.done
	cmd := r.cmd
	go func() { cmd.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := WaitTCP(ctx, r.Addr); err != nil {
		r.Kill()
		t.Fatalf("redis-server on %s did not come up: %v\n%s", r.Addr, err, r.out)
	}
}

// Restart kills the server (SIGKILL, as a crash) and starts it again on the
// same port and directory, so what it persisted (with --appendonly yes among
// extraArgs) is loaded back. Not safe to call concurrently with Kill.
func (r *RedisServer) Restart(t testing.TB) {
	t.Helper()
	r.Kill()
	r.start(t)
}

// Kill stops the server at once (SIGKILL) and waits for it to exit; calling
// it again is harmless.
func (r *RedisServer) Kill() {
	r.once.Do(func() {
		if r.cmd.Process != nil {
			r.cmd.Process.Kill()
		}
		<-r.done
	})
}

// String names the server for test logs.
func (r *RedisServer) String() string { return fmt.Sprintf("redis-server %s", r.Addr) }

// StartRedisCluster starts n (at least 3) redis-server processes in cluster
// mode on loopback, joins them with `redis-cli --cluster create` (no
// replicas), waits until every node reports cluster_state:ok and returns the
// store URL naming all of them (redis://first?addr=second&addr=…), which
// selects go-redis's Cluster client.
func StartRedisCluster(t testing.TB, n int) string {
	t.Helper()
	cli := Need(t, "redis-cli")[0]
	if n < 3 {
		n = 3
	}
	var addrs []string
	for range n {
		busPort := FreeTCPPort(t)
		r := StartRedisServer(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(busPort), "--cluster-node-timeout", "5000")
		addrs = append(addrs, r.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		host, port, _ := strings.Cut(a, ":")
		for {
			out, err := exec.CommandContext(ctx, cli, "-h", host, "-p", port, "cluster", "info").Output()
			if err == nil && bytes.Contains(out, []byte("cluster_state:ok")) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("redis cluster node %s not ok within 30 s: %s", a, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	u := "redis://" + addrs[0] + "?"
	for i, a := range addrs[1:] {
		if i > 0 {
			u += "&"
		}
		u += "addr=" + a
	}
	return u
}

// StartRedisSentinel starts a primary redis-server and one Sentinel
// (redis-server --sentinel) watching it as "mymaster" on loopback, and
// returns the store URL that reaches the primary through the Sentinel
// (redis://sentinel?master_name=mymaster).
func StartRedisSentinel(t testing.TB) string {
	t.Helper()
	return StartRedisSentinelGroup(t, 0).URL
}

// SentinelGroup is a primary, its replicas and one Sentinel watching them.
type SentinelGroup struct {
	// URL reaches the current primary through the Sentinel.
	URL      string
	Primary  *RedisServer
	Replicas []*RedisServer
	Sentinel *RedisServer
}

// StartRedisSentinelGroup starts a primary with the given number of
// replicas and a Sentinel (quorum 1) that declares the primary down after
// one second and fails over to a replica, so a test can kill the primary
// and watch a client follow the promotion.
func StartRedisSentinelGroup(t testing.TB, replicas int) *SentinelGroup {
	t.Helper()
	bin := Need(t, "redis-server")[0]
	g := &SentinelGroup{Primary: StartRedisServer(t, "--repl-diskless-sync-delay", "0")}
	host, pport, _ := strings.Cut(g.Primary.Addr, ":")
	for range replicas {
		g.Replicas = append(g.Replicas, StartRedisServer(t, "--replicaof", host, pport, "--repl-diskless-sync-delay", "0"))
	}
	port := FreeTCPPort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	cfg := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel resolve-hostnames no\n"+
		"sentinel monitor mymaster %s %s 1\nsentinel down-after-milliseconds mymaster 1000\n"+
		"sentinel failover-timeout mymaster 5000\n", port, dir, host, pport)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	g.Sentinel = &RedisServer{URL: "redis://" + addr, Addr: addr, bin: bin, args: []string{conf, "--sentinel"}}
	g.Sentinel.start(t)
	t.Cleanup(g.Sentinel.Kill)
	g.URL = g.Sentinel.URL + "?master_name=mymaster"
	return g
}
