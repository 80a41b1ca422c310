package muc_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc/muctest"
)

// TestMulticastModuleWritesWhatProsodyWould runs testdata/multicast_module.lua:
// thousands of random multicast stanzas, good and bad, through the
// module's handler with Prosody's own stanza, filter and event libraries.
// Every copy, and the top tag session.send logs for it, must be exactly
// what Prosody makes without the module, including copies a handler
// changed in place, and a refused stanza must deliver nothing. Several
// seeds, so a failure names one to replay.
func TestMulticastModuleWritesWhatProsodyWould(t *testing.T) {
	paths := testpeer.Need(t, "lua5.4", "prosody")
	sourceDir, err := prosodySourceDir(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	moduleDir, err := muctest.ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	module := filepath.Join(moduleDir, "mod_cusax_multicast.lua")
	for seed := 1; seed <= 4; seed++ {
		out, err := exec.Command(paths[0], "testdata/multicast_module.lua", module, sourceDir, "2000", fmt.Sprint(seed)).CombinedOutput()
		if err != nil {
			t.Errorf("seed %d: %v\n%s", seed, err, out)
		}
	}
}

// prosodySourceDir reads where Prosody's Lua libraries are from its
// launcher script (CFG_SOURCEDIR='/usr/lib/prosody'; on Debian).
func prosodySourceDir(launcher string) (string, error) {
	script, err := os.ReadFile(launcher)
	if err != nil {
		return "", fmt.Errorf("reading the prosody launcher: %w", err)
	}
	m := regexp.MustCompile(`(?m)^CFG_SOURCEDIR='([^']+)'`).FindSubmatch(script)
	if m == nil {
		return "", fmt.Errorf("no CFG_SOURCEDIR in %s", launcher)
	}
	return string(m[1]), nil
}
