// Package browsertest starts a real headless Chromium for page tests, driven
// by chromedp, so the dashboard and the browser join page are tested in the
// browser operators and callers use, not in a stand-in.
//
// The browser may reach only loopback: every host name resolves to nothing
// but 127.0.0.1, and the background services that would phone home are off.
// A missing Chromium fails the test in CI and skips it elsewhere, as every
// other peer does (see internal/testpeer).
package browsertest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"cusax.dev/bridge/internal/testpeer"
)

// Binaries are the names Chromium is installed under, tried in order.
var binaries = [...]string{"chromium", "chromium-browser", "google-chrome"}

// config collects what the options change.
type config struct {
	flags   []chromedp.ExecAllocatorOption
	console bool
}

// Option changes how New starts the browser.
type Option func(*config)

// Flag adds one Chromium command-line flag; value is true for a bare switch
// (--name) or a string (--name=value).
func Flag(name string, value any) Option {
	return func(c *config) { c.flags = append(c.flags, chromedp.Flag(name, value)) }
}

// FakeMicrophone makes getUserMedia succeed without a prompt and feed the
// page the audio of wav (16-bit PCM, as testpeer.WriteWAV writes it), looped.
func FakeMicrophone(wav string) Option {
	return func(c *config) {
		c.flags = append(c.flags,
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-audio-capture", wav),
		)
	}
}

// Autoplay lets the page play audio without a user gesture, so a test can
// hear a page's <audio> element without clicking first.
func Autoplay() Option {
	return Flag("autoplay-policy", "no-user-gesture-required")
}

// Quiet stops the page's console messages and uncaught exceptions from being
// copied into the test log (they are copied by default, since they are the
// first thing to read when a page test fails).
func Quiet() Option {
	return func(c *config) { c.console = false }
}

// New starts a headless Chromium reaching only loopback, opens one tab and
// returns its chromedp context; the browser stops and its profile is removed
// when the test ends. Give the returned context to chromedp.Do and
// chromedp.Run; wrap it with context.WithTimeout to bound a step.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	testpeer.Integration(t)
	exe := findChromium(t)
	cfg := config{console: true}
	for _, o := range opts {
		o(&cfg)
	}
	alloc := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	alloc = append(alloc, cfg.flags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), alloc...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// Start the browser now, so a broken install fails here with its own
	// message rather than inside the test's first step.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting Chromium %s: %v", exe, err)
	}
	var mu sync.Mutex
	ended := false
	if cfg.console {
		err := chromedp.Listen(ctx, func(ev any) {
			mu.Lock()
			defer mu.Unlock()
			if ended {
				return
			}
			switch ev := ev.(type) {
			case *runtime.EventConsoleAPICalled:
				t.Logf("browser console.%s: %s", ev.Type, argsText(ev.Args))
			case *runtime.EventExceptionThrown:
				t.Logf("browser exception: %s", exceptionText(ev.ExceptionDetails))
			}
		})
		if err != nil {
			t.Fatalf("listening to the browser console: %v", err)
		}
	}
	t.Cleanup(func() {
		mu.Lock()
		ended = true
		mu.Unlock()
		cancelTab()
		cancelAlloc() // waits until the browser has exited
	})
	return ctx
}

func findChromium(t testing.TB) string {
	t.Helper()
	for _, name := range binaries {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	// Need fails in CI and skips elsewhere, naming the first binary.
	return testpeer.Need(t, binaries[0])[0]
}

func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text = d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

// WaitTrue polls a JavaScript expression in the page every 50 ms until it
// is true, and fails the test with the page's <body> when ctx ends first.
// Pages show their state in the DOM (text, data-* attributes), so this is
// how a test waits for what a person would see.
func WaitTrue(t testing.TB, ctx context.Context, what, js string) {
	t.Helper()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			body, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("%s: not seen in the page (last error: %v)\npage: %s", what, err, body)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
