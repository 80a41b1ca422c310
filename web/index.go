package web

import (
	_ "embed"
	"html/template"
	"net/http"
)

// indexPattern is where the index page is served, exactly "/"; an
// OpsConfig.Handlers entry with the same pattern (the operators'
// dashboard) takes its place.
const indexPattern = "GET /{$}"

//go:embed index.html
var indexHTML string

var indexPage = template.Must(template.New("index").Parse(indexHTML))

// indexHandler answers "/" with a short page linking what the ops
// listener serves, so someone who opens the bare address finds their way.
func indexHandler(drain bool) http.Handler {
	data := struct{ Drain bool }{Drain: drain}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The page loads nothing and runs nothing.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if err := indexPage.Execute(w, data); err != nil {
			http.Error(w, "rendering the index page: "+err.Error(), http.StatusInternalServerError)
		}
	})
}
