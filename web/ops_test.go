package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestOps(t *testing.T) {
	reg := prometheus.NewRegistry()
	calls := prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_test_calls_total", Help: "test"})
	reg.MustRegister(calls)
	calls.Add(3)
	var linkUp atomic.Bool
	ops, err := NewOps(OpsConfig{
		Listen:   "127.0.0.1:0",
		Gatherer: reg,
		Checks: []ReadinessCheck{
			{Name: "xmpp component link", Ready: linkUp.Load},
			{Name: "store", Ready: func() bool { return false }, Advisory: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ops.Serve(ctx) }()
	base := "http://" + ops.Addr().String()

	deadline := time.Now().Add(10 * time.Second)
	for !ops.Ready() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	code, body := fetch(t, base+"/healthz")
	if code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	code, body = fetch(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "xmpp component link: not ready") {
		t.Errorf("/readyz with the link down = %d %q, want 503 naming the link", code, body)
	}
	linkUp.Store(true)
	code, body = fetch(t, base+"/readyz")
	if code != 200 || strings.Contains(body, "link: not ready") || !strings.Contains(body, "store: not ready (advisory") {
		t.Errorf("/readyz with only an advisory check down = %d %q, want 200 listing it", code, body)
	}
	code, body = fetch(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "bridge_test_calls_total 3") {
		t.Errorf("/metrics = %d %q", code, body)
	}
	if code, _ := fetch(t, base+"/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing = %d, want 404", code)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if ops.Ready() {
		t.Error("still ready after stopping")
	}
}

// TestDrain: POST /drain runs the node's drain and answers its outcome;
// without a drain function the path does not exist.
func TestDrain(t *testing.T) {
	var drained atomic.Int32
	ops, err := NewOps(OpsConfig{
		Listen:   "127.0.0.1:0",
		Gatherer: prometheus.NewRegistry(),
		Drain: func(ctx context.Context) (string, error) {
			if drained.Add(1) > 1 {
				return "", errors.New("already drained")
			}
			return "drained: no calls left", nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ops.Serve(ctx)
	base := "http://" + ops.Addr().String()
	post := func() (int, string) {
		t.Helper()
		resp, err := http.Post(base+"/drain", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(); code != 200 || !strings.Contains(body, "drained: no calls left") {
		t.Errorf("POST /drain = %d %q", code, body)
	}
	if code, body := post(); code != http.StatusInternalServerError || !strings.Contains(body, "already drained") {
		t.Errorf("failing drain = %d %q, want 500 with the error", code, body)
	}
	if code, _ := fetch(t, base+"/drain"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /drain = %d, want 405", code)
	}
	// From another host (a scraper, anyone in the cluster) it is refused
	// before the node is touched.
	before := drained.Load()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/drain", nil)
	req.RemoteAddr = "192.0.2.7:40000"
	ops.drain(rec, req)
	if rec.Code != http.StatusForbidden || drained.Load() != before {
		t.Errorf("POST /drain from 192.0.2.7 = %d (drains %d → %d), want 403 and no drain", rec.Code, before, drained.Load())
	}

	plain, err := NewOps(OpsConfig{Listen: "127.0.0.1:0", Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	go plain.Serve(ctx)
	resp, err := http.Post("http://"+plain.Addr().String()+"/drain", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /drain without a drain function = %d", resp.StatusCode)
	}
}

func TestOpsPortTaken(t *testing.T) {
	first, err := NewOps(OpsConfig{Listen: "127.0.0.1:0", Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer first.listener.Close()
	_, err = NewOps(OpsConfig{Listen: first.Addr().String(), Gatherer: prometheus.NewRegistry()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("err = %v, want address already in use", err)
	}
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestOpsIndex: "/" answers a page whose every link works; any other path
// stays 404, and a handler given for "/" (the dashboard) replaces the page.
func TestOpsIndex(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ops, err := NewOps(OpsConfig{Listen: "127.0.0.1:0", Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	go ops.Serve(ctx)
	base := "http://" + ops.Addr().String()

	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var links []string
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		links = append(links, m[1])
	}
	if want := []string{"/healthz", "/readyz", "/metrics"}; !slices.Equal(links, want) {
		t.Errorf("the page links %q, want %q", links, want)
	}
	for _, l := range links {
		// /readyz may answer 503 (the listener was only just marked
		// ready); it exists either way.
		if code, _ := fetch(t, base+l); code != 200 && code != http.StatusServiceUnavailable {
			t.Errorf("the page's link %s answers %d", l, code)
		}
	}
	if !strings.Contains(page, "README.md") || !strings.Contains(page, "docs/design/") {
		t.Errorf("the page does not point at the docs:\n%s", page)
	}
	if strings.Contains(page, "/drain") {
		t.Errorf("the page offers /drain on a node without a drain function:\n%s", page)
	}
	for _, p := range []string{"/index.html", "/x", "/healthz/"} {
		if code, _ := fetch(t, base+p); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, code)
		}
	}

	withDash, err := NewOps(OpsConfig{
		Listen: "127.0.0.1:0", Gatherer: prometheus.NewRegistry(),
		Drain: func(context.Context) (string, error) { return "", nil },
		Handlers: map[string]http.Handler{indexPattern: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "dashboard")
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	go withDash.Serve(ctx)
	if code, body := fetch(t, "http://"+withDash.Addr().String()+"/"); code != 200 || body != "dashboard" {
		t.Errorf("GET / with a dashboard = %d %q, want the dashboard", code, body)
	}
}

// TestIndexPageDrain: a node with a drain function says how to drain it.
func TestIndexPageDrain(t *testing.T) {
	rec := httptest.NewRecorder()
	indexHandler(true).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "POST /drain") {
		t.Errorf("index with a drain function = %d %q, want it to mention POST /drain", rec.Code, rec.Body.String())
	}
}
