// Package prompts ships the voice prompts and tones phone callers hear, one
// folder per language (en/), made by scripts/make-prompts.sh (`make
// prompts`) and embedded in the binary; --prompts-dir replaces them with an
// operator's folder of the same layout, --prompt-language picks the folder.
// See docs/design/14_prompts.md for the names the bridge plays.
package prompts

import "embed"

// Builtin holds <language>/<name>.wav for every shipped language.
//
//go:embed en/*.wav
var Builtin embed.FS
