package main

import (
	"io"
	"strconv"
	"strings"
	"testing"
)

func TestInviteLimitSettings(t *testing.T) {
	dir := t.TempDir()
	env := func(string) (string, bool) { return "", false }
	cfg, err := loadConfig([]string{"--data-dir", dir}, env, io.Discard)
	if err != nil || cfg.InviteRate != 20 || cfg.InviteBurst != 40 {
		t.Fatalf("defaults = %v/%d, %v; want 20/40", cfg.InviteRate, cfg.InviteBurst, err)
	}
	cfg, err = loadConfig([]string{"--data-dir", dir, "--invite-rate", "500", "--invite-burst", "2000"}, env, io.Discard)
	if err != nil || cfg.InviteRate != 500 || cfg.InviteBurst != 2000 {
		t.Fatalf("cfg = %v/%d, %v; want 500/2000", cfg.InviteRate, cfg.InviteBurst, err)
	}
	if r, b := inviteLimit(cfg.InviteRate, cfg.InviteBurst); r != 500 || b != 2000 {
		t.Errorf("inviteLimit(500, 2000) = %v, %d", r, b)
	}
	for _, zero := range [][2]float64{{0, 40}, {20, 0}} {
		if r, _ := inviteLimit(zero[0], int(zero[1])); r >= 0 {
			t.Errorf("inviteLimit(%v, %v) = rate %v; want a negative rate (no limit)", zero[0], zero[1], r)
		}
	}
	for _, args := range [][]string{
		{"--invite-rate", "-1"},
		{"--invite-rate", "fast"},
		{"--invite-rate", "NaN"},
		{"--invite-burst", "-1"},
		{"--invite-burst", "1.5"},
	} {
		if _, err := loadConfig(append([]string{"--data-dir", dir}, args...), env, io.Discard); err == nil {
			t.Errorf("loadConfig(%q) accepted it", args)
		}
	}
}

func TestRTPLegsPerPortSetting(t *testing.T) {
	checkIntSetting(t, "rtp-legs-per-port", 64, 1, []string{"0", "65", "-3", "many"},
		func(c Config) int { return c.RTPLegsPerPort })
}

// checkIntSetting checks a whole-number setting: its default, a value from
// its environment variable, and that each bad value is refused with an
// error naming the setting.
func checkIntSetting(t *testing.T, name string, def, fromEnv int, bad []string, get func(Config) int) {
	t.Helper()
	dir := t.TempDir()
	s, ok := settingByName(name)
	if !ok {
		t.Fatalf("no setting %q", name)
	}
	env := func(string) (string, bool) { return "", false }
	cfg, err := loadConfig([]string{"--data-dir", dir}, env, io.Discard)
	if err != nil || get(cfg) != def {
		t.Fatalf("default = %d, %v; want %d", get(cfg), err, def)
	}
	env = func(k string) (string, bool) { return strconv.Itoa(fromEnv), k == s.envName() }
	if cfg, err = loadConfig([]string{"--data-dir", dir}, env, io.Discard); err != nil || get(cfg) != fromEnv {
		t.Fatalf("from %s = %d, %v; want %d", s.envName(), get(cfg), err, fromEnv)
	}
	env = func(string) (string, bool) { return "", false }
	for _, v := range bad {
		_, err := loadConfig([]string{"--data-dir", dir, "--" + name, v}, env, io.Discard)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("--%s %s: err = %v, want one naming the setting", name, v, err)
		}
	}
}
