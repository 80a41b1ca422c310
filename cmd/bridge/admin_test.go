package main

import (
	"testing"

	"cusax.dev/bridge/web/admin"
)

func TestSecurityLevels(t *testing.T) {
	for _, tc := range []struct {
		tls                       bool
		media                     string
		signalling, name, summary string
	}{
		{false, "", "plain", "rtp", "plain"},
		{true, "rtp", "tls", "rtp", "partial"},
		{false, "srtp", "plain", "srtp", "partial"},
		{true, "srtp", "tls", "srtp", "encrypted"},
		{true, "dtls-srtp", "tls", "dtls-srtp", "encrypted"},
	} {
		sig, media, level := security(tc.tls, tc.media)
		if sig != tc.signalling || media != tc.name || level != tc.summary {
			t.Errorf("security(%v, %q) = %s %s %s, want %s %s %s", tc.tls, tc.media, sig, media, level, tc.signalling, tc.name, tc.summary)
		}
	}
	leg := func(level string) admin.Participant { return admin.Participant{Legs: []admin.Leg{{Security: level}}} }
	for _, tc := range []struct {
		ps   []admin.Participant
		want string
	}{
		{nil, ""},
		{[]admin.Participant{leg("encrypted"), leg("encrypted")}, "encrypted"},
		{[]admin.Participant{leg("plain")}, "plain"},
		{[]admin.Participant{leg("encrypted"), leg("plain")}, "mixed"},
		{[]admin.Participant{leg("partial")}, "mixed"},
	} {
		if got := securitySummary(tc.ps, nil); got != tc.want {
			t.Errorf("securitySummary(%v) = %q, want %q", tc.ps, got, tc.want)
		}
	}
}
