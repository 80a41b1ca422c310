package sync

import (
	"fmt"
	"strings"
)

// DirectoryRule maps SIP addresses to JIDs (DESIGN.md, binding method 3),
// e.g. SIP "sip:*@example.test" and JID "*@example.test": the user part the
// star matched in the caller's address replaces the star of the JID. Without
// a star both sides are literal ("sip:+15550100@pbx.test" to
// "carol@example.test"). Rules are the operator's word: they trust the SIP
// From address, so use them for trunks and registrars that authenticate.
type DirectoryRule struct {
	SIP string
	JID string
}

type dirRule struct {
	userPre, userSuf, host string // of the SIP side
	star                   bool
	jid                    string
}

func compileDirectory(rules []DirectoryRule) ([]dirRule, error) {
	var out []dirRule
	for _, r := range rules {
		user, host, ok := splitAOR(r.SIP)
		if !ok {
			return nil, fmt.Errorf("directory rule SIP side: want sip:user@host, got %q", r.SIP)
		}
		jl, jh, jok := strings.Cut(strings.ToLower(r.JID), "@")
		if !jok || jh == "" || strings.Contains(jh, "*") || strings.Count(jl, "*") > 1 {
			return nil, fmt.Errorf("directory rule JID side: want user@domain with at most one * in the user, got %q", r.JID)
		}
		d := dirRule{host: host, jid: jl + "@" + jh}
		switch strings.Count(user, "*") {
		case 0:
			if strings.Contains(jl, "*") {
				return nil, fmt.Errorf("directory rule %q: the JID has a * the SIP side does not", r.JID)
			}
			d.userPre = user
		case 1:
			d.star = true
			d.userPre, d.userSuf, _ = strings.Cut(user, "*")
		default:
			return nil, fmt.Errorf("directory rule SIP side: at most one *, got %q", r.SIP)
		}
		out = append(out, d)
	}
	return out, nil
}

// lookup returns the JID the first matching rule gives aor, or "".
func lookupDirectory(rules []dirRule, aor string) string {
	user, host, ok := splitAOR(aor)
	if !ok {
		return ""
	}
	for _, d := range rules {
		if host != d.host {
			continue
		}
		if !d.star {
			if user == d.userPre {
				return d.jid
			}
			continue
		}
		if len(user) <= len(d.userPre)+len(d.userSuf) || !strings.HasPrefix(user, d.userPre) || !strings.HasSuffix(user, d.userSuf) {
			continue
		}
		m := user[len(d.userPre) : len(user)-len(d.userSuf)]
		if strings.ContainsAny(m, "@/\"&'<>:") {
			continue // not a valid JID localpart
		}
		return strings.Replace(d.jid, "*", m, 1)
	}
	return ""
}

// splitAOR reduces a SIP URI (possibly in angle brackets, with display name,
// parameters or headers) to its lower-cased user and host; the scheme must
// be sip or sips.
func splitAOR(uri string) (user, host string, ok bool) {
	s := strings.TrimSpace(uri)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "sip:"):
		s = s[4:]
	case strings.HasPrefix(lower, "sips:"):
		s = s[5:]
	default:
		return "", "", false
	}
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	user, host, ok = strings.Cut(s, "@")
	if !ok || user == "" || host == "" {
		return "", "", false
	}
	if h, _, found := strings.Cut(host, ":"); found && !strings.HasPrefix(host, "[") {
		host = h
	}
	return strings.ToLower(user), strings.ToLower(host), true
}

// sameAOR compares two SIP addresses by user and host.
func sameAOR(a, b string) bool {
	ua, ha, ok1 := splitAOR(a)
	ub, hb, ok2 := splitAOR(b)
	return ok1 && ok2 && ua == ub && ha == hb
}

// impJID turns an impp hint (xmpp:alice@example.test, RFC 6993) into a bare
// JID, or "" for anything else.
func impJID(uri string) string {
	s := strings.TrimSpace(uri)
	s = strings.TrimPrefix(strings.TrimSuffix(s, ">"), "<")
	if len(s) < 5 || !strings.EqualFold(s[:5], "xmpp:") {
		return ""
	}
	s = s[5:]
	s = strings.TrimPrefix(s, "//")
	if i := strings.IndexAny(s, "?#/"); i >= 0 {
		s = s[:i]
	}
	l, d, ok := strings.Cut(strings.ToLower(s), "@")
	if !ok || l == "" || d == "" || strings.ContainsAny(l+d, "@\"&'<>: ") {
		return ""
	}
	return l + "@" + d
}
