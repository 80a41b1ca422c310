package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"cusax.dev/bridge/mixer/prompt"
	"cusax.dev/bridge/prompts"
)

// The settings of the voice prompts and tones callers hear
// (docs/design/14_prompts.md).
const (
	keyPromptsDir     = "prompts-dir"
	keyPromptLanguage = "prompt-language"
	keyJoinTonesUpTo  = "join-tones-up-to"
)

// promptFS is where the prompts come from: the operator's folder, or the
// set built into the binary.
func promptFS(dir string) fs.FS {
	if dir == "" {
		return prompts.Builtin
	}
	return os.DirFS(dir)
}

// parsePromptsDir wants an existing folder, or nothing for the built-in set.
func parsePromptsDir(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	st, err := os.Stat(v)
	if err != nil {
		return "", fmt.Errorf("want a folder of <language>/<name>.wav prompts: %w", err)
	}
	if !st.IsDir() {
		return "", errors.New("want a folder of <language>/<name>.wav prompts, got a file")
	}
	return v, nil
}

// parsePromptLanguage wants a language folder that exists in the prompts
// folder (or the built-in set).
func parsePromptLanguage(v, dir string) (string, error) {
	if v == "" || strings.ContainsAny(v, `/\`) || !fs.ValidPath(v) {
		return "", fmt.Errorf("want a language folder name such as en, got %q", v)
	}
	st, err := fs.Stat(promptFS(dir), v)
	if err != nil || !st.IsDir() {
		where := "the built-in prompts"
		if dir != "" {
			where = dir
		}
		return "", fmt.Errorf("no folder %q in %s", v, where)
	}
	return v, nil
}

// parseJoinTonesUpTo wants a number of calls, 0 for no tones.
func parseJoinTonesUpTo(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a number of calls (0 turns the tones off), got %q", v)
	}
	return n, nil
}

// loadPrompts decodes the prompts once, at start, into every codec's frames.
func loadPrompts(cfg Config) (*prompt.Set, error) {
	set, err := prompt.Load(promptFS(cfg.PromptsDir), cfg.PromptLanguage)
	if err != nil {
		return nil, fmt.Errorf("loading prompts (--%s, --%s): %w", keyPromptsDir, keyPromptLanguage, err)
	}
	return set, nil
}
