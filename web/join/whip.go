package join

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/pion/webrtc/v3"

	"cusax.dev/bridge/mixer"
)

// passwordHeader carries the room password typed on the page; a header
// rather than the URL, so it stays out of access logs.
const passwordHeader = "X-Room-Password"

// errUnusableOffer is an offer that parsed but WebRTC cannot use (no ICE
// credentials or DTLS fingerprint, say): the browser's fault, a 400.
var errUnusableOffer = errors.New("the offer cannot set up WebRTC")

// gatherTimeout bounds waiting for the answer's candidate (one host
// candidate on the shared port: immediate in practice).
const gatherTimeout = 5 * time.Second

// offer is the WHIP POST: the browser's SDP offer in, 201 with the answer
// and the leg's resource URL out. The room decides before anything is
// spent: a refused join uses no media port and makes no PeerConnection.
func (s *Server) offer(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if !validRoom(room) {
		httpError(w, http.StatusNotFound, "no such room: %q is not a room name", room)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/sdp" {
		httpError(w, http.StatusUnsupportedMediaType, "want an SDP offer (Content-Type: application/sdp), got %q", r.Header.Get("Content-Type"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, "an SDP offer is a few KiB; this one is over %d bytes", tooBig.Limit)
			return
		}
		httpError(w, http.StatusBadRequest, "reading the offer: %v", err)
		return
	}
	pt, err := checkOffer(body)
	if err != nil {
		s.met.refused.WithLabelValues("bad-offer").Inc()
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	j := Join{Room: room, LegID: newLegID(), Token: bearer(r), Nick: strings.TrimSpace(r.URL.Query().Get("nick")),
		Password: r.Header.Get(passwordHeader), Secure: r.TLS != nil}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		j.Source = ap
	}
	if j.Token == "" && j.Nick == "" {
		httpError(w, http.StatusBadRequest, "an anonymous join needs a nick (?nick=…); a personal link carries a token instead")
		return
	}
	d := s.cfg.Gate.Admit(r.Context(), j)
	if d.Verdict != Admitted {
		s.refuse(w, r, d)
		return
	}
	l, answer, err := s.connect(j, d, body, pt)
	if err != nil {
		s.cfg.Gate.LegEvent(Event{Kind: EventLeft, Room: room, LegID: j.LegID, Reason: "failed"})
		if errors.Is(err, errUnusableOffer) {
			s.met.refused.WithLabelValues("bad-offer").Inc()
			httpError(w, http.StatusBadRequest, "%v", err)
			return
		}
		s.log.Warn("browser join failed", "room", room, "err", err)
		httpError(w, http.StatusInternalServerError, "the bridge could not set up the call: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whip/"+room+"/"+l.id)
	w.Header().Set("ETag", `"`+l.id+`"`)
	for _, ice := range s.cfg.ICEServers {
		for _, u := range ice.URLs {
			w.Header().Add("Link", "<"+u+">; rel=\"ice-server\"")
		}
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// refuse answers a join the room did not admit.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, d Decision) {
	s.met.refused.WithLabelValues(verdictName(d.Verdict)).Inc()
	reason := d.Reason
	switch d.Verdict {
	case Moved:
		if d.Location == "" {
			httpError(w, http.StatusServiceUnavailable, "the room is on another node that has no public URL")
			return
		}
		// 307 keeps the method and the offer (RFC 9725 section 4.6).
		http.Redirect(w, r, strings.TrimRight(d.Location, "/")+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return
	case Full, Unavailable, RoomFull:
		w.Header().Set("Retry-After", "30")
	case NeedsPassword:
		w.Header().Set("WWW-Authenticate", `X-Room-Password realm="room"`)
	}
	if reason == "" {
		reason = http.StatusText(verdictStatus(d.Verdict))
	}
	httpError(w, verdictStatus(d.Verdict), "%s", reason)
}

func verdictStatus(v Verdict) int {
	switch v {
	case Refused, WrongPassword:
		return http.StatusForbidden
	case NeedsPassword:
		return http.StatusUnauthorized
	case NoRoom:
		return http.StatusNotFound
	case Full, Unavailable:
		return http.StatusServiceUnavailable
	case BadRequest:
		return http.StatusBadRequest
	case RoomFull:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// verdictName labels a refusal in bridge_browser_refused_total.
func verdictName(v Verdict) string {
	names := [...]string{"admitted", "refused", "wrong-password", "no-room", "full", "moved", "unavailable", "needs-password", "bad-request", "room-full"}
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return "other"
}

// connect builds the leg's PeerConnection and packet leg and answers the
// offer with every candidate in it (non-trickle).
func (s *Server) connect(j Join, d Decision, offer []byte, pt uint8) (*browserLeg, string, error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("new PeerConnection: %w", err)
	}
	fail := func(err error) (*browserLeg, string, error) {
		_ = pc.Close()
		return nil, "", err
	}
	l := newBrowserLeg(s, j.LegID, j.Room, j.Nick)
	l.pc = pc
	l.muted = d.Muted
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return fail(fmt.Errorf("%w: %w", errUnusableOffer, err))
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "cusax-"+j.Room)
	if err != nil {
		return fail(fmt.Errorf("the room's track: %w", err))
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		return fail(fmt.Errorf("adding the room's track: %w", err))
	}
	l.track = track
	media, err := s.cfg.Media.AddPacketLeg(mixer.LegConfig{Room: j.Room, Codec: mixer.CodecSpec{Name: "opus", PayloadType: pt, ClockRate: 48000}}, writer{track: track})
	if err != nil {
		return fail(fmt.Errorf("the mixer: %w", err))
	}
	l.media = media
	media.SetMuted(l.muted)
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() == webrtc.RTPCodecTypeAudio {
			l.receive(t)
		}
	})
	pc.OnConnectionStateChange(l.onState)
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		media.Close()
		return fail(fmt.Errorf("the answer: %w", err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		media.Close()
		return fail(fmt.Errorf("the answer: %w", err))
	}
	select {
	case <-gathered:
	case <-time.After(gatherTimeout):
		media.Close()
		return fail(errors.New("no ICE candidate within 5 s"))
	}
	s.mu.Lock()
	s.legs[l.id] = l
	s.mu.Unlock()
	s.met.legs.Inc()
	s.wg.Add(2)
	go func() { defer s.wg.Done(); readRTCP(sender) }()
	go func() { defer s.wg.Done(); l.connectDeadline(s.cfg.ConnectTimeout) }()
	return l, pc.LocalDescription().SDP, nil
}

// forget drops an ended leg from the table.
func (s *Server) forget(l *browserLeg) {
	s.mu.Lock()
	if s.legs[l.id] == l {
		delete(s.legs, l.id)
		s.met.legs.Dec()
	}
	s.mu.Unlock()
}

// leg finds the leg a resource URL names.
func (s *Server) leg(w http.ResponseWriter, r *http.Request) *browserLeg {
	s.mu.Lock()
	l := s.legs[r.PathValue("leg")]
	s.mu.Unlock()
	if l == nil || l.room != r.PathValue("room") {
		httpError(w, http.StatusNotFound, "no such browser leg: it ended, or was never made")
		return nil
	}
	return l
}

// leave is the WHIP DELETE: the browser hangs up.
func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	if l := s.leg(w, r); l != nil {
		l.end("departed", "left")
		w.WriteHeader(http.StatusOK)
	}
}

// secondOffer refuses a POST on a leg's resource: a leg has one offer, and
// ICE restarts are not supported (WHIP answers them with 405 here).
func (s *Server) secondOffer(w http.ResponseWriter, r *http.Request) {
	if s.leg(w, r) == nil {
		return
	}
	w.Header().Set("Allow", "DELETE")
	httpError(w, http.StatusMethodNotAllowed, "this leg already has its session; DELETE it and POST a new offer to /whip/%s", r.PathValue("room"))
}

// cors lets a page served by one node talk to the node that owns the room
// (a 307 from POST /whip sends it there): the signalling carries no
// cookies, and the join token is in a header the page sets itself.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/whip/") {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Expose-Headers", "Location, Link, ETag")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "POST, DELETE, GET, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, "+passwordHeader)
				h.Set("Access-Control-Max-Age", "600")
				h.Set("Allow", "POST, DELETE, GET, OPTIONS")
				h.Set("Accept-Post", "application/sdp")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// muteRequest is the body of POST <resource>/mute.
type muteRequest struct {
	Muted *bool `json:"muted"`
}

// mute is the page's own mute button, shown on both faces like a phone's
// DTMF self-mute.
func (s *Server) mute(w http.ResponseWriter, r *http.Request) {
	l := s.leg(w, r)
	if l == nil {
		return
	}
	var req muteRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Muted == nil {
		httpError(w, http.StatusBadRequest, `want {"muted": true|false}, got an unreadable body or no "muted" field`)
		return
	}
	l.mu.Lock()
	changed := l.selfMuted != *req.Muted
	l.selfMuted = *req.Muted
	l.mu.Unlock()
	if changed {
		l.applyMute()
		s.cfg.Gate.LegEvent(Event{Kind: EventSelfMute, Room: l.room, LegID: l.id, MediaID: l.media.ID(), Muted: *req.Muted})
	}
	w.WriteHeader(http.StatusNoContent)
}

// bearer is the join token of Authorization: Bearer (WHIP's own way to
// authenticate, RFC 9725 section 4.5).
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func newLegID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "web-" + hex.EncodeToString(b[:])
}

// roomNameRE is what a room name can be in both faces' addresses (the
// focus takes the same): a MUC room local part and a SIP user part.
var roomNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func validRoom(room string) bool { return roomNameRE.MatchString(room) }

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintf(w, format+"\n", args...)
}
