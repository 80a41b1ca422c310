package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBridge stands in for the adapter over sync: the package's own
// neighbour, not a peer.
type fakeBridge struct {
	mu    sync.Mutex
	rooms []Room
	acts  []Action
}

func (f *fakeBridge) Rooms(context.Context) ([]Room, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rooms), nil
}

func (f *fakeBridge) Room(_ context.Context, name string) (Room, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rooms {
		if r.Name == name {
			return r, nil
		}
	}
	return Room{}, fmt.Errorf("room %q: %w", name, ErrNotFound)
}

func (f *fakeBridge) Act(_ context.Context, a Action) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rooms {
		if r.Name != a.Room {
			continue
		}
		if a.Kind == ActionEnd {
			f.acts = append(f.acts, a)
			return nil
		}
		for j, p := range r.Participants {
			if p.Nick == a.Nick {
				if a.Kind == ActionBan && p.JID == "" {
					return fmt.Errorf("ban %q: %w", a.Nick, ErrConflict)
				}
				f.rooms[i].Participants[j].Muted = a.Kind == ActionMute
				f.acts = append(f.acts, a)
				return nil
			}
		}
		return fmt.Errorf("nick %q: %w", a.Nick, ErrNotFound)
	}
	return fmt.Errorf("room %q: %w", a.Room, ErrNotFound)
}

func (f *fakeBridge) SetLimits(_ context.Context, room string, l Limits, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rooms {
		if r.Name == room {
			f.rooms[i].Limits = l
			f.acts = append(f.acts, Action{Kind: ActionLimits, Room: room, Actor: actor, Limits: &l})
			return nil
		}
	}
	return fmt.Errorf("room %q: %w", room, ErrNotFound)
}

func (f *fakeBridge) Dial(_ context.Context, room, uri, actor string) (string, string, error) {
	if !strings.HasPrefix(uri, "sip:") {
		return "", "", fmt.Errorf("%w: want a SIP URI", ErrBadRequest)
	}
	if _, err := f.Room(context.Background(), room); err != nil {
		return "", "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acts = append(f.acts, Action{Kind: ActionDial, Room: room, URI: uri, Actor: actor})
	return "call-1", "", nil
}

func newTestAPI(t *testing.T, token string) (*fakeBridge, string) {
	t.Helper()
	f := &fakeBridge{rooms: []Room{{Name: "standup", Participants: []Participant{
		{Nick: "alice", JID: "alice@example.test", Role: "moderator", Affiliation: "owner", Faces: []string{"chat"}},
		{Nick: "phone 1001", Role: "participant", Affiliation: "none", Faces: []string{"phone"}},
	}}}}
	a, err := New(Config{Rooms: f, Moderator: f, Token: token, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func call(t *testing.T, method, url, token, body string) (int, Error) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e Error
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &e)
	return resp.StatusCode, e
}

func TestAuth(t *testing.T) {
	f, base := newTestAPI(t, "s3cret")
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "guess", http.StatusUnauthorized},
		{"right token", "s3cret", http.StatusOK},
	} {
		if code, _ := call(t, "GET", base+Prefix+"rooms", tc.token, ""); code != tc.want {
			t.Errorf("%s: GET rooms = %d, want %d", tc.name, code, tc.want)
		}
		code, _ := call(t, "POST", base+Prefix+"rooms/standup/participants/alice/kick", tc.token, "")
		if code != tc.want {
			t.Errorf("%s: POST kick = %d, want %d", tc.name, code, tc.want)
		}
	}
	if len(f.acts) != 1 {
		t.Errorf("actions carried out: %v; want only the one with the right token", f.acts)
	}
	if code, _ := call(t, "GET", base+Prefix+"openapi.json", "", ""); code != http.StatusOK {
		t.Errorf("the OpenAPI document without a token = %d, want 200", code)
	}
}

// TestLoopbackOnly: without a token, a request from another address is
// refused and nothing is touched.
func TestLoopbackOnly(t *testing.T) {
	f := &fakeBridge{rooms: []Room{{Name: "standup"}}}
	a, err := New(Config{Rooms: f, Moderator: f})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]int{"192.0.2.7:5555": http.StatusForbidden, "127.0.0.1:5555": http.StatusOK, "[::1]:5555": http.StatusOK} {
		req := httptest.NewRequest("POST", Prefix+"rooms/standup/end", nil)
		req.RemoteAddr, req.Host = addr, "127.0.0.1:8080"
		w := httptest.NewRecorder()
		a.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("end from %s = %d, want %d", addr, w.Code, want)
		}
	}
	if len(f.acts) != 2 {
		t.Errorf("actions carried out: %v; want the two from loopback", f.acts)
	}
	// A page of another site open in the operator's browser: cross-site
	// (CSRF), or a name of its own resolving to 127.0.0.1 (DNS rebinding).
	for _, tc := range []struct {
		name, host string
		headers    map[string]string
	}{
		{"cross-site", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}},
		{"cross-origin without Sec-Fetch-Site", "127.0.0.1:8080", map[string]string{"Origin": "http://evil.example"}},
		{"rebound name", "evil.example:8080", nil},
	} {
		req := httptest.NewRequest("POST", Prefix+"rooms/standup/end", nil)
		req.RemoteAddr, req.Host = "127.0.0.1:5555", tc.host
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, req)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: end = %d, want 403", tc.name, w.Code)
		}
	}
	if len(f.acts) != 2 {
		t.Errorf("actions carried out: %v; want still the two", f.acts)
	}
	for _, host := range []string{"localhost:8080", "[::1]:8080", "127.0.0.1"} {
		if !loopbackHost(host) {
			t.Errorf("loopbackHost(%q) = false", host)
		}
	}
}

func TestBadInput(t *testing.T) {
	_, base := newTestAPI(t, "")
	for _, tc := range []struct {
		method, path, body string
		want               int
		field              string
	}{
		{"GET", "rooms/nosuch", "", 404, ""},
		{"POST", "rooms/nosuch/end", "", 404, ""},
		{"POST", "rooms/standup/participants/nobody/mute", "", 404, ""},
		{"POST", "rooms/standup/participants/alice/explode", "", 404, "action"},
		{"POST", "rooms/standup/participants/alice/mute", `{"reason": 5}`, 400, "reason"},
		{"POST", "rooms/standup/participants/alice/mute", `{"reasn": "x"}`, 400, "reasn"},
		{"POST", "rooms/standup/participants/alice/mute", `{"reason": "x"`, 400, ""},
		{"POST", "rooms/standup/participants/phone%201001/ban", "", 409, ""},
		{"POST", "rooms/standup/participants/phone%201001/mute", `{"reason": "noise"}`, 200, ""},
		{"GET", "nothing/here", "", 404, ""},
		{"PUT", "rooms/standup/limits", "", 400, "max_participants"},
		{"PUT", "rooms/standup/limits", `{"max_participants": -1}`, 400, "max_participants"},
		{"PUT", "rooms/standup/limits", `{"max_participants": "2"}`, 400, "max_participants"},
		{"PUT", "rooms/standup/limits", `{"max_participants": 2.5}`, 400, "max_participants"},
		{"PUT", "rooms/standup/limits", `{"max": 2}`, 400, "max"},
		{"PUT", "rooms/nosuch/limits", `{"max_participants": 2}`, 404, ""},
		{"PUT", "rooms/standup/limits", `{"max_participants": 2}`, 200, ""},
		{"POST", "rooms/standup/dial", "", 400, "uri"},
		{"POST", "rooms/standup/dial", `{"uri": 7}`, 400, "uri"},
		{"POST", "rooms/standup/dial", `{"uri": "tel:123"}`, 400, ""},
		{"POST", "rooms/nosuch/dial", `{"uri": "sip:dave@example.test"}`, 404, ""},
		{"POST", "rooms/standup/dial", `{"uri": "sip:dave@example.test"}`, 200, ""},
	} {
		code, e := call(t, tc.method, base+Prefix+tc.path, "", tc.body)
		if code != tc.want || e.Field != tc.field {
			t.Errorf("%s %s %s = %d field %q (%s), want %d field %q", tc.method, tc.path, tc.body, code, e.Field, e.Error, tc.want, tc.field)
		}
	}
}

// TestEvents: the stream sends the rooms at once, again when they change,
// and each action taken through the API.
func TestEvents(t *testing.T) {
	_, base := newTestAPI(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+Prefix+"events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan [2]string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "event: "); ok {
				name = n
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				events <- [2]string{name, d}
			}
		}
		close(events)
	}()
	next := func() [2]string {
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			t.Fatal("no event within 10 s")
		}
		return [2]string{}
	}
	if e := next(); e[0] != "rooms" || !strings.Contains(e[1], `"nick":"phone 1001"`) {
		t.Fatalf("first event %v, want the rooms", e)
	}
	if code, _ := call(t, "POST", base+Prefix+"rooms/standup/participants/phone%201001/mute", "", ""); code != 200 {
		t.Fatalf("mute = %d", code)
	}
	var sawAction, sawMuted bool
	for !sawAction || !sawMuted {
		e := next()
		switch e[0] {
		case "action":
			sawAction = strings.Contains(e[1], `"action":"mute"`) && strings.Contains(e[1], `"nick":"phone 1001"`)
		case "rooms":
			var rl roomsList
			if err := json.Unmarshal([]byte(e[1]), &rl); err != nil {
				t.Fatal(err)
			}
			sawMuted = rl.Rooms[0].Participants[1].Muted
		}
	}
}

// TestOpenAPICoversRoutes keeps the document and the routes in step: every
// route New registers is a path of the document, and the other way round.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	src, err := readSource("api.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"(GET|POST|PUT) "\+Prefix\+"([^"]+)"`)
	routes := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(src, -1) {
		routes[strings.ToLower(m[1])+" /"+m[2]] = true
	}
	if len(routes) < 6 {
		t.Fatalf("found %d routes in api.go; the pattern no longer matches", len(routes))
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented[method+" "+p] = true
			}
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("openapi.json documents %s, which is not served", d)
		}
	}
}

func readSource(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

// TestEventsShareOneReader: every stream gets the rooms from one reader,
// which stops when the last stream closes.
func TestEventsShareOneReader(t *testing.T) {
	f := &fakeBridge{rooms: []Room{{Name: "standup"}}}
	a, err := New(Config{Rooms: f, Moderator: f, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var bodies []io.ReadCloser
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+Prefix+"events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.Body)
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "event: rooms\n" {
			t.Fatalf("stream %d began with %q (%v), want the rooms", len(bodies), line, err)
		}
	}
	a.feed.mu.Lock()
	n := len(a.feed.subs)
	a.feed.mu.Unlock()
	if n != 3 {
		t.Errorf("the feed serves %d streams, want 3", n)
	}
	cancel()
	for _, b := range bodies {
		b.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.feed.mu.Lock()
		running := a.feed.running
		a.feed.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the feed still reads the rooms with no stream open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
