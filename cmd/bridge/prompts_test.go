package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPromptSettings(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "fr"), 0o755); err != nil {
		t.Fatal(err)
	}
	good := []struct{ dir, lang string }{{"", "en"}, {dir, "fr"}}
	for _, c := range good {
		if _, err := parsePromptLanguage(c.lang, c.dir); err != nil {
			t.Errorf("language %q in %q: %v", c.lang, c.dir, err)
		}
	}
	bad := []struct{ dir, lang string }{{"", "fr"}, {dir, "en"}, {"", "../en"}, {"", ""}}
	for _, c := range bad {
		if _, err := parsePromptLanguage(c.lang, c.dir); err == nil {
			t.Errorf("language %q in %q accepted", c.lang, c.dir)
		}
	}
	if _, err := parsePromptsDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing prompts folder accepted")
	}
	for v, want := range map[string]bool{"20": true, "0": true, "-1": false, "many": false} {
		if _, err := parseJoinTonesUpTo(v); (err == nil) != want {
			t.Errorf("--join-tones-up-to %q: err %v", v, err)
		}
	}
}

// The built-in set loads; an operator's folder with a broken file stops
// the start, naming the file.
func TestLoadPrompts(t *testing.T) {
	set, err := loadPrompts(Config{PromptLanguage: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Get("pin-enter"); !ok {
		t.Errorf("built-in set lacks pin-enter: %v", set.Names())
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "en", "muted.wav"), []byte("not a wav"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadPrompts(Config{PromptsDir: dir, PromptLanguage: "en"}); err == nil || !strings.Contains(err.Error(), "muted.wav") {
		t.Errorf("a broken prompt file: %v, want an error naming it", err)
	}
}
