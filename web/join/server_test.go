package join

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"

	"cusax.dev/bridge/mixer"
)

// fakeGate stands in for sync: it answers every join with one decision and
// records events.
type fakeGate struct {
	mu       sync.Mutex
	decision Decision
	home     string
	joins    []Join
	events   []Event
}

func (g *fakeGate) Admit(_ context.Context, j Join) Decision {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.joins = append(g.joins, j)
	return g.decision
}

func (g *fakeGate) LegEvent(ev Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.events = append(g.events, ev)
}

func (g *fakeGate) Roster(string) []Participant { return nil }

func (g *fakeGate) Home(context.Context, string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.home
}

func newTestServer(t testing.TB, d Decision) (*Server, *fakeGate, *mixer.Mixer) {
	t.Helper()
	m, err := mixer.New(mixer.Config{BindAddr: netip.MustParseAddr("127.0.0.1"), PortMin: 54000, PortMax: 54099})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	g := &fakeGate{decision: d}
	s, err := New(Config{Listen: "127.0.0.1:0", RTPAddress: netip.MustParseAddr("127.0.0.1"), PortMin: 54000, PortMax: 54099, Media: m, Gate: g})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, g, m
}

func do(t testing.TB, h http.Handler, method, target, contentType, body string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

// TestBadRequests: each bad request gets its own 4xx with a sentence, the
// room is never asked, and nothing is made.
func TestBadRequests(t *testing.T) {
	s, g, _ := newTestServer(t, Decision{Verdict: Refused, Reason: "banned from this room"})
	h := s.routes()
	for _, tc := range []struct {
		name, method, target, ct, body string
		hdr                            []string
		want                           int
		wantText                       string
	}{
		{"not SDP", "POST", "/whip/standup?nick=a", "application/sdp", "hello", nil, 400, "not valid SDP"},
		{"no opus", "POST", "/whip/standup?nick=a", "application/sdp", strings.ReplaceAll(chromeOffer, "opus", "ISAC"), nil, 400, "Opus"},
		{"wrong content type", "POST", "/whip/standup?nick=a", "application/json", chromeOffer, nil, 415, "application/sdp"},
		{"huge body", "POST", "/whip/standup?nick=a", "application/sdp", chromeOffer + strings.Repeat("a=x:y\r\n", 20000), nil, 413, "over"},
		{"bad room name", "POST", "/whip/Not%20A%20Room?nick=a", "application/sdp", chromeOffer, nil, 404, "not a room name"},
		{"no nick, no token", "POST", "/whip/standup", "application/sdp", chromeOffer, nil, 400, "needs a nick"},
		{"unknown resource", "DELETE", "/whip/standup/web-00", "", "", nil, 404, "no such browser leg"},
		{"second offer on unknown resource", "POST", "/whip/standup/web-00", "application/sdp", chromeOffer, nil, 404, "no such browser leg"},
		{"events of unknown resource", "GET", "/whip/standup/web-00/events", "", "", nil, 404, "no such browser leg"},
		{"page of a bad room", "GET", "/join/Bad_Room", "", "", nil, 404, "not a room name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, h, tc.method, tc.target, tc.ct, tc.body, tc.hdr...)
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.want || !strings.Contains(string(b), tc.wantText) {
				t.Errorf("%s %s: got %d %q, want %d with %q", tc.method, tc.target, res.StatusCode, b, tc.want, tc.wantText)
			}
		})
	}
	if len(g.joins) != 0 {
		t.Errorf("the room was asked about %d bad requests, want none", len(g.joins))
	}
	// An offer that parses but has no ICE credentials or fingerprint is the
	// browser's fault too, even once the room admitted it.
	g.decision = Decision{Verdict: Admitted}
	bare := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	if res := do(t, h, "POST", "/whip/standup?nick=a", "application/sdp", bare); res.StatusCode != 400 {
		b, _ := io.ReadAll(res.Body)
		t.Errorf("an offer WebRTC cannot use: got %d %q, want 400", res.StatusCode, b)
	}
	if n := len(s.Legs("")); n != 0 {
		t.Errorf("%d legs after an unusable offer, want none", n)
	}
	g.decision = Decision{Verdict: Refused, Reason: "banned from this room"}
	g.joins = nil
	// A good offer the room refuses: 403 with the room's reason, no leg.
	res := do(t, h, "POST", "/whip/standup", "application/sdp", chromeOffer, "Authorization", "Bearer forged")
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 403 || !strings.Contains(string(b), "banned") {
		t.Errorf("refused join: got %d %q, want 403 with the reason", res.StatusCode, b)
	}
	if len(g.joins) != 1 || g.joins[0].Token != "forged" || g.joins[0].Room != "standup" {
		t.Errorf("the room saw %+v, want one join with the bearer token", g.joins)
	}
	if n := len(s.Legs("")); n != 0 {
		t.Errorf("%d legs after a refusal, want none", n)
	}
}

// TestRoomFullIsTheBrowsers4xx: a room at its limit is the browser's
// business (409 with Retry-After and the reason), not a server error.
func TestRoomFullIsTheBrowsers4xx(t *testing.T) {
	s, _, _ := newTestServer(t, Decision{Verdict: RoomFull, Reason: "room full: at most 2 participants"})
	res := do(t, s.routes(), "POST", "/whip/standup?nick=a", "application/sdp", chromeOffer)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 409 || res.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "at most 2") {
		t.Errorf("room full: got %d %q (Retry-After %q), want 409 with the reason and Retry-After", res.StatusCode, b, res.Header.Get("Retry-After"))
	}
}

// TestAdmittedOfferAnswers: an admitted offer gets 201 with an SDP answer
// carrying the shared media port as its candidate and a resource URL; a
// second POST there is 405, a bad mute body 400, and DELETE ends the leg
// and tells the room.
func TestAdmittedOfferAnswers(t *testing.T) {
	s, g, _ := newTestServer(t, Decision{Verdict: Admitted})
	h := s.routes()
	res := do(t, h, "POST", "/whip/standup?nick=ann", "application/sdp", realOffer(t))
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 {
		t.Fatalf("offer: got %d %q, want 201", res.StatusCode, b)
	}
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/whip/standup/web-") || res.Header.Get("Content-Type") != "application/sdp" {
		t.Fatalf("201 with Location %q and Content-Type %q", loc, res.Header.Get("Content-Type"))
	}
	port := s.MediaAddr().String()
	if !strings.Contains(string(b), "a=candidate:") || !strings.Contains(string(b), strings.ReplaceAll(port, ":", " ")) {
		t.Errorf("answer has no candidate on the media port %s:\n%s", port, b)
	}
	if !strings.Contains(string(b), "a=ice-lite") {
		t.Errorf("answer is not ICE-lite:\n%s", b)
	}
	if r := do(t, h, "POST", loc, "application/sdp", chromeOffer); r.StatusCode != 405 {
		t.Errorf("second offer on the resource: got %d, want 405", r.StatusCode)
	}
	if r := do(t, h, "POST", loc+"/mute", "application/json", `{"mute":1}`); r.StatusCode != 400 {
		t.Errorf("bad mute body: got %d, want 400", r.StatusCode)
	}
	if r := do(t, h, "POST", loc+"/mute", "application/json", `{"muted":true}`); r.StatusCode != 204 {
		t.Errorf("self-mute: got %d, want 204", r.StatusCode)
	}
	if ls := s.Legs(""); len(ls) != 1 || !ls[0].SelfMuted || ls[0].Nick != "ann" {
		t.Errorf("legs after self-mute: %+v", ls)
	}
	if r := do(t, h, "DELETE", loc, "", ""); r.StatusCode != 200 {
		t.Errorf("DELETE: got %d, want 200", r.StatusCode)
	}
	if n := len(s.Legs("")); n != 0 {
		t.Errorf("%d legs after DELETE, want none", n)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var kinds []EventKind
	for _, ev := range g.events {
		kinds = append(kinds, ev.Kind)
	}
	if len(kinds) != 2 || kinds[0] != EventSelfMute || kinds[1] != EventLeft || g.events[1].Reason != "departed" {
		t.Errorf("room events %+v, want self-mute then left (departed)", g.events)
	}
}

// FuzzOffer: whatever is posted, the handler answers without panicking,
// and nothing but a parsable Opus offer reaches the room.
func FuzzOffer(f *testing.F) {
	s, g, _ := newTestServer(f, Decision{Verdict: Refused, Reason: "no"})
	h := s.routes()
	f.Add(chromeOffer, "application/sdp")
	f.Add("v=0\r\n", "application/sdp")
	f.Add(chromeOffer, "text/plain")
	f.Fuzz(func(t *testing.T, body, ct string) {
		before := len(g.joins)
		res := do(t, h, "POST", "/whip/standup?nick=f", ct, body)
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Fatalf("got %d for %q", res.StatusCode, body)
		}
		if len(g.joins) > before {
			if _, err := checkOffer([]byte(body)); err != nil {
				t.Fatalf("a bad offer reached the room: %v", err)
			}
		}
	})
}

// realOffer is an offer as a WebRTC stack makes it (pion's, with a real
// DTLS fingerprint), audio only.
func realOffer(t testing.TB) string {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

// TestRedirectsToTheOwner: among many nodes, the page and the offer of a
// room owned elsewhere are sent there with 307 (method, offer, query and
// the link's fragment kept by the browser), and the owner answers CORS so
// a page from another node may post to it.
func TestRedirectsToTheOwner(t *testing.T) {
	s, g, _ := newTestServer(t, Decision{Verdict: Moved, Location: "https://node-2.example.test"})
	g.home = "https://node-2.example.test/"
	h := s.routes()
	res := do(t, h, "GET", "/join/standup", "", "")
	if res.StatusCode != 307 || res.Header.Get("Location") != "https://node-2.example.test/join/standup" {
		t.Errorf("page of a room owned elsewhere: %d to %q, want 307 to the owner's page", res.StatusCode, res.Header.Get("Location"))
	}
	res = do(t, h, "POST", "/whip/standup?nick=ann", "application/sdp", chromeOffer)
	if res.StatusCode != 307 || res.Header.Get("Location") != "https://node-2.example.test/whip/standup?nick=ann" {
		t.Errorf("offer for a room owned elsewhere: %d to %q, want 307 to the owner's /whip", res.StatusCode, res.Header.Get("Location"))
	}
	res = do(t, h, "OPTIONS", "/whip/standup", "", "")
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("CORS preflight: %d %v", res.StatusCode, res.Header)
	}
	g.home = ""
	if res := do(t, h, "GET", "/join/standup", "", ""); res.StatusCode != 200 {
		t.Errorf("page of a room owned here: %d, want 200", res.StatusCode)
	}
}
