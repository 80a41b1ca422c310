package k8s_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"cusax.dev/bridge/internal/testpeer"
)

// TestProsodyConfigParses hands the ConfigMap's prosody.cfg.lua to the real
// prosodyctl: a Lua syntax error, or an option Prosody cannot read (such as a
// secret taken from the environment in a form this Prosody lacks), fails
// here instead of in a crash-looping pod.
func TestProsodyConfigParses(t *testing.T) {
	testpeer.Integration(t)
	prosodyctl := testpeer.Need(t, "prosodyctl")[0]
	_, m := loadDir(t, "base")
	cfg := m.configMaps[0].Data["prosody.cfg.lua"]
	dir := t.TempDir()
	// Paths of the pod become paths in the temp dir; nothing else changes.
	cfg = strings.NewReplacer("/var/lib/prosody", dir, "/var/run/prosody", dir, "/etc/prosody/certs", dir).Replace(cfg)
	path := filepath.Join(dir, "prosody.cfg.lua")
	if err := os.WriteFile(path, []byte("run_as_root = true\n"+cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prosodyctl, "--config", path, "check", "config")
	cmd.Env = append(os.Environ(), "COMPONENT_SECRET=s3cret")
	out, _ := cmd.CombinedOutput() // "problems found" (no certificate here) is not a parse failure
	if strings.Contains(string(out), "problem occurred while reading the config") || strings.Contains(string(out), "attempt to") {
		t.Fatalf("prosodyctl cannot read the ConfigMap's prosody.cfg.lua:\n%s", out)
	}
	if !strings.Contains(string(out), "Checking config") && !strings.Contains(string(out), "Done") {
		t.Fatalf("prosodyctl check config gave an unexpected answer:\n%s", out)
	}
}
