package sync

import (
	"testing"

	"cusax.dev/bridge/mixer/prompt"
	"cusax.dev/bridge/prompts"
)

// Every prompt sync asks for is in the shipped set: a missing file would
// be silence in a call, found by nobody.
func TestShippedPromptsCoverSync(t *testing.T) {
	set, err := prompt.Load(prompts.Builtin, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range promptsPlayed {
		if _, ok := set.Get(name); !ok {
			t.Errorf("sync plays %q, which prompts/en lacks", name)
		}
	}
}

// Join and leave tones follow Config.JoinTonesUpTo: zero turns them off.
func TestJoinTonesUpTo(t *testing.T) {
	for _, c := range []struct{ upTo, calls int }{{20, 2}, {20, 20}, {20, 21}, {0, 2}, {3, 4}} {
		s := &Sync{cfg: Config{JoinTonesUpTo: c.upTo}}
		if got, want := s.tonesFor(c.calls), c.upTo > 0 && c.calls <= c.upTo; got != want {
			t.Errorf("up to %d, %d calls: tones %v, want %v", c.upTo, c.calls, got, want)
		}
	}
}
