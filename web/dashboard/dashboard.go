// Package dashboard serves the operators' page on the ops listener at "/"
// (issue 17): every room with who is in each face, who is talking (live,
// from the admin API's event stream), the security level, buttons for the
// actions, and the node's health. Like net/http/pprof's index it is
// embedded in the binary and needs no build step: one html/template page
// and one plain JavaScript module that reads /api/v1 as any script would.
package dashboard

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed page.html
var pageHTML string

//go:embed static
var static embed.FS

var page = template.Must(template.New("page").Parse(pageHTML))

// Config says what the page shows before its script has read the API.
type Config struct {
	// NodeID and Version name the node serving the page.
	NodeID, Version string
	// API is the admin API's path prefix, e.g. "/api/v1/".
	API string
}

// Handlers returns the page and its assets by ServeMux pattern, for
// web.OpsConfig.Handlers.
func Handlers(cfg Config) map[string]http.Handler {
	assets, _ := fs.Sub(static, "static") // the embedded folder is always there
	return map[string]http.Handler{
		"GET /{$}":        pageHandler(cfg),
		"GET /dashboard/": http.StripPrefix("/dashboard/", http.FileServerFS(assets)),
	}
}

func pageHandler(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// The page holds no data: the script reads it with the operator's
		// token; no other origin may frame it or run scripts in it.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		if err := page.Execute(w, cfg); err != nil {
			http.Error(w, "rendering the dashboard: "+err.Error(), http.StatusInternalServerError)
		}
	})
}
