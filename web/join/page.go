package join

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed page
var pageFiles embed.FS

var pageTemplate = template.Must(template.ParseFS(pageFiles, "page/join.html"))

// pageData is what the join page is rendered with.
type pageData struct {
	Room   string
	Config string // the page's settings as JSON, in a data attribute
}

// pageConfig is handed to the page's script.
type pageConfig struct {
	Room       string          `json:"room"`
	WHIP       string          `json:"whip"` // where to POST the offer
	ICEServers []pageICEServer `json:"iceServers"`
}

type pageICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// page serves /join/<room>: the whole client, with no build step.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if !validRoom(room) {
		httpError(w, http.StatusNotFound, "no such room: %q is not a room name", room)
		return
	}
	if home := s.cfg.Gate.Home(r.Context(), room); home != "" && strings.TrimRight(home, "/") != s.cfg.PublicURL {
		// Among many nodes the page is served by the room's owner, so the
		// whole call is same-origin there; the link's #token follows.
		http.Redirect(w, r, strings.TrimRight(home, "/")+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return
	}
	cfg := pageConfig{Room: room, WHIP: "/whip/" + room, ICEServers: []pageICEServer{}}
	for _, ice := range s.cfg.ICEServers {
		cred, _ := ice.Credential.(string)
		cfg.ICEServers = append(cfg.ICEServers, pageICEServer{URLs: ice.URLs, Username: ice.Username, Credential: cred})
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob: mediastream:")
	if err := pageTemplate.Execute(w, pageData{Room: room, Config: string(b)}); err != nil {
		s.log.Debug("join page", "err", err)
	}
}

// staticFiles serves the page's script and style.
func staticFiles() http.Handler {
	sub, err := fs.Sub(pageFiles, "page")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	return http.FileServerFS(sub)
}
