package browsertest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cusax.dev/bridge/internal/browsertest"
	"cusax.dev/bridge/internal/testpeer"
)

// TestLoopbackPage shows the browser runs a page served on loopback and
// reaches no other host: a name that is not 127.0.0.1 does not resolve.
func TestLoopbackPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><title>t</title><p id="p">hello</p>
<script>document.getElementById("p").textContent = "ran";</script>`))
	}))
	defer srv.Close()
	ctx := browsertest.New(t)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("p")))
	if err != nil {
		t.Fatal(err)
	}
	if text != "ran" {
		t.Fatalf("page text %q, want %q (the script did not run)", text, "ran")
	}
	outcome, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`fetch("http://example.com/").then(() => "reached", e => "refused: " + e.message)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if outcome == "reached" {
		t.Fatal("the browser reached example.com; it must reach only loopback")
	}
}

// TestFakeMicrophone shows getUserMedia gives the page a live audio track
// from the WAV file, without a permission prompt.
func TestFakeMicrophone(t *testing.T) {
	wav := filepath.Join(t.TempDir(), "tone.wav")
	if err := testpeer.WriteWAV(wav, 48000, testpeer.Tone(440, 48000, 48000, 0.5)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><title>mic</title>`))
	}))
	defer srv.Close()
	ctx := browsertest.New(t, browsertest.FakeMicrophone(wav), browsertest.Autoplay())
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`navigator.mediaDevices.getUserMedia({audio: true}).then(s => s.getAudioTracks()[0].readyState, e => "error: " + e.name)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if state != "live" {
		t.Fatalf("microphone track state %q, want live", state)
	}
}
