package synctest

import (
	"testing"

	"cusax.dev/bridge/mixer/prompt"
	"cusax.dev/bridge/prompts"
)

// builtinPrompts is the English set the binary ships, as cmd/bridge loads
// it without --prompts-dir.
func builtinPrompts(t testing.TB) *prompt.Set {
	t.Helper()
	set, err := prompt.Load(prompts.Builtin, "en")
	if err != nil {
		t.Fatal(err)
	}
	return set
}
