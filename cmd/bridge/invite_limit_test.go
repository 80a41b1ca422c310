package main

import (
	"io"
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
