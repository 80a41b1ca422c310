package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cusax.dev/bridge/internal/browsertest"
	"cusax.dev/bridge/web/admin"
	"cusax.dev/bridge/web/dashboard"
)

// bridge stands in for the adapter over sync behind the real admin API:
// the page's own neighbour, not a peer. The whole bridge in front of real
// phones and chat clients is cmd/bridge's TestOperatorsDashboard.
type bridge struct {
	mu    sync.Mutex
	rooms []admin.Room
	acts  []admin.Action
}

func (b *bridge) Rooms(context.Context) ([]admin.Room, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]admin.Room, len(b.rooms))
	for i, r := range b.rooms {
		r.Participants = slices.Clone(r.Participants)
		out[i] = r
	}
	return out, nil
}

func (b *bridge) Room(ctx context.Context, name string) (admin.Room, error) {
	rooms, _ := b.Rooms(ctx)
	for _, r := range rooms {
		if r.Name == name {
			return r, nil
		}
	}
	return admin.Room{}, admin.ErrNotFound
}

func (b *bridge) Act(_ context.Context, a admin.Action) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acts = append(b.acts, a)
	return nil
}

func (b *bridge) SetLimits(_ context.Context, room string, l admin.Limits, actor string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acts = append(b.acts, admin.Action{Kind: admin.ActionLimits, Room: room, Actor: actor, Limits: &l})
	b.rooms[0].Limits = l
	return nil
}

func (b *bridge) Dial(_ context.Context, room, uri, actor string) (string, string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acts = append(b.acts, admin.Action{Kind: admin.ActionDial, Room: room, URI: uri, Actor: actor})
	return "call-1", "", nil
}

func (b *bridge) setTalking(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rooms[0].Participants[1].Talking = on
}

func (b *bridge) actions() []admin.Action {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.acts)
}

func serve(t *testing.T, token string) (*bridge, string) {
	t.Helper()
	b := &bridge{rooms: []admin.Room{{
		Name: "standup", Node: "n1", Security: "plain", Limits: admin.Limits{MaxParticipants: 5},
		Participants: []admin.Participant{
			{Nick: "Alice", JID: "alice@example.test", Role: "moderator", Affiliation: "owner", Faces: []string{"chat"}},
			{Nick: "bob <b>", Role: "participant", Affiliation: "none", Faces: []string{"phone"},
				Legs: []admin.Leg{{CallID: "c1", Kind: "phone", State: "connected", Security: "plain"}}},
		},
	}}}
	api, err := admin.New(admin.Config{Rooms: b, Moderator: b, Token: token, Poll: 50 * time.Millisecond,
		Node: func(context.Context) admin.Node {
			return admin.Node{ID: "n1", Ready: true, Checks: map[string]bool{"sip": true}, Calls: 1, Rooms: 1}
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix, api)
	for p, h := range dashboard.Handlers(dashboard.Config{NodeID: "n1", Version: "test", API: admin.Prefix}) {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return b, srv.URL
}

func row(nick string) string {
	return fmt.Sprintf(`document.querySelector('section[data-room="standup"] tr[data-nick=%q]')`, nick)
}

func TestDashboard(t *testing.T) {
	b, base := serve(t, "")
	ctx := browsertest.New(t)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "both participants with their faces",
		row("Alice")+`?.dataset.faces === "chat" && `+row("bob <b>")+`?.dataset.faces === "phone"`)
	// The nick is text, never markup.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main b").length`)); err != nil || n != 0 {
		t.Errorf("a nick's markup was rendered as HTML (%d <b> elements, %v)", n, err)
	}
	browsertest.WaitTrue(t, ctx, "the node's health", `document.getElementById("health").dataset.ready === "true"`)

	b.setTalking(true)
	browsertest.WaitTrue(t, ctx, "bob's talking indicator on", row("bob <b>")+`.dataset.talking === "true"`)
	b.setTalking(false)
	browsertest.WaitTrue(t, ctx, "bob's talking indicator off", row("bob <b>")+`.dataset.talking === "false"`)

	// A kick takes two clicks: the first only asks.
	kick := chromedp.Click(chromedp.CSS(`tr[data-nick="bob <b>"] button[data-action="kick"]`))
	if err := chromedp.Do(ctx, kick); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "the kick button asking again", row("bob <b>")+`.querySelector('button[data-action="kick"]').textContent === "Really kick?"`)
	if acts := b.actions(); len(acts) != 0 {
		t.Fatalf("one click on Kick already acted: %+v", acts)
	}
	if err := chromedp.Do(ctx, kick); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "the kick's outcome", `document.getElementById("status").textContent === "kick bob <b> in standup: done"`)
	browsertest.WaitTrue(t, ctx, "the kick button back to itself", row("bob <b>")+`.querySelector('button[data-action="kick"]').textContent === "Kick"`)
	acts := b.actions()
	if len(acts) != 1 || acts[0].Kind != admin.ActionKick || acts[0].Nick != "bob <b>" || acts[0].Room != "standup" {
		t.Errorf("actions = %+v, want one kick of bob <b> in standup", acts)
	}
	// A room's limit, typed in while the rooms are redrawn (talking).
	b.setTalking(true)
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`input[data-field="limit standup"]`), ""),
		chromedp.SendKeys(chromedp.CSS(`input[data-field="limit standup"]`), "3"),
	); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "the redraw for talking", row("bob <b>")+`.dataset.talking === "true"`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`section[data-room="standup"] button[data-action="limit"]`))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "the limit's outcome", `document.getElementById("status").textContent === "limit standup to 3: done"`)
	acts = b.actions()
	if last := acts[len(acts)-1]; last.Kind != admin.ActionLimits || last.Limits == nil || last.Limits.MaxParticipants != 3 {
		t.Errorf("last action = %+v, want limits of standup to 3", last)
	}
	browsertest.WaitTrue(t, ctx, "the new limit shown", `document.querySelector('section[data-room="standup"] .meta').textContent.includes("max 3")`)

	// A dial-out.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[data-field="dial standup"]`), "sip:dave@example.test"),
		chromedp.Click(chromedp.CSS(`section[data-room="standup"] button[data-action="dial"]`)),
	); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "the dial's outcome", `document.getElementById("status").textContent === "dial sip:dave@example.test into standup: done"`)
	acts = b.actions()
	if last := acts[len(acts)-1]; last.Kind != admin.ActionDial || last.URI != "sip:dave@example.test" {
		t.Errorf("last action = %+v, want a dial of sip:dave@example.test", last)
	}

	// An anonymous phone has nobody to ban.
	if dis, err := chromedp.Run(ctx, chromedp.Evaluate[bool](row("bob <b>")+`.querySelector('button[data-action="ban"]').disabled`)); err != nil || !dis {
		t.Errorf("the ban button of an anonymous phone is enabled (%v)", err)
	}

	// Ending a room asks too, and a question left unanswered goes away
	// without ending anything.
	endButton := `document.querySelector('section[data-room="standup"] button[data-action="end"]')`
	before := len(b.actions())
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`section[data-room="standup"] button[data-action="end"]`))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "End room asking again", endButton+`.textContent === "Really end?"`)
	browsertest.WaitTrue(t, ctx, "End room back to itself, unanswered", endButton+`.textContent === "End room" && !`+endButton+`.dataset.armed`)
	if acts := b.actions(); len(acts) != before {
		t.Errorf("an unanswered End room acted: %+v", acts[before:])
	}
}

// TestDashboardToken: with a token the page reads nothing until it has
// one, and takes it from the URL's fragment.
func TestDashboardToken(t *testing.T) {
	_, base := serve(t, "s3cret")
	ctx := browsertest.New(t)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "the token form", `!document.getElementById("login").hidden`)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("section.room").length`)); err != nil || n != 0 {
		t.Fatalf("rooms shown without a token: %d (%v)", n, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#token=s3cret")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitTrue(t, ctx, "the rooms with the token", row("Alice")+` !== null && location.hash === ""`)
}
