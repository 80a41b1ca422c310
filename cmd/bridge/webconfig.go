package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/pion/webrtc/v3"
)

// WebConfig is the public web server's part of the configuration: browser
// join (web/join).
type WebConfig struct {
	Listen     string // empty: browser join off
	Cert, Key  string // both or neither
	PublicURL  string // empty: http(s)://<Listen>
	NATIP      string
	ICEServers []webrtc.ICEServer
	MediaPort  int
}

// Enabled reports whether browser join runs.
func (w WebConfig) Enabled() bool { return w.Listen != "" }

// URL is where browsers reach this node's web server: --web-public-url, or
// made from --web-listen. Other nodes send browsers there; "" when off.
func (w WebConfig) URL() string {
	switch {
	case !w.Enabled():
		return ""
	case w.PublicURL != "":
		return w.PublicURL
	case w.Cert != "":
		return "https://" + w.Listen
	}
	return "http://" + w.Listen
}

func parseOptionalHostPort(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	return parseHostPort(v)
}

// webTLSFile checks --web-cert or --web-key: both or neither, each
// readable, and only with --web-listen.
func webTLSFile(v, listen, other, otherName string) (string, error) {
	if v == "" {
		if strings.TrimSpace(other) != "" {
			return "", fmt.Errorf("--%s is set, so this file is needed too", otherName)
		}
		return "", nil
	}
	if listen == "" {
		return "", fmt.Errorf("given without --%s, so it would not be used", keyWebListen)
	}
	f, err := os.Open(v)
	if err != nil {
		return "", fmt.Errorf("cannot read it: %w", unwrapPathError(err))
	}
	f.Close()
	return v, nil
}

// parsePublicURL wants an absolute http or https URL with no query or
// fragment: the base of every link handed out.
func parsePublicURL(v string, w WebConfig) (string, error) {
	if v == "" {
		return "", nil
	}
	if w.Listen == "" {
		return "", fmt.Errorf("given without --%s, so it would not be used", keyWebListen)
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", fmt.Errorf("want a URL such as https://meet.example.com: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("want an http:// or https:// URL with a host and no query or fragment, e.g. https://meet.example.com")
	}
	return strings.TrimRight(v, "/"), nil
}

func parseOptionalIP(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	ip, err := netip.ParseAddr(v)
	if err != nil {
		return "", fmt.Errorf("want an IP address, e.g. 203.0.113.7")
	}
	return ip.String(), nil
}

func parseOptionalPort(v string) (int, error) {
	if v == "" || v == "0" {
		return 0, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("want a UDP port 1-65535, or 0 for one from --%s", keyRTPPorts)
	}
	return p, nil
}

// parseICEServers reads comma-separated STUN/TURN URLs; a TURN URL may
// carry its credentials as user:password@ (taken out of the URL handed to
// the browser and given as its username and credential).
func parseICEServers(v string) ([]webrtc.ICEServer, error) {
	var out []webrtc.ICEServer
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		scheme, rest, ok := strings.Cut(item, ":")
		switch scheme {
		case "stun", "stuns", "turn", "turns":
		default:
			return nil, fmt.Errorf("want stun:, stuns:, turn: or turns: URLs, got %q", item)
		}
		if !ok || rest == "" {
			return nil, fmt.Errorf("%q has no host", item)
		}
		s := webrtc.ICEServer{URLs: []string{item}}
		if cred, host, ok := strings.Cut(rest, "@"); ok {
			user, pass, _ := strings.Cut(cred, ":")
			if strings.HasPrefix(scheme, "stun") {
				return nil, fmt.Errorf("%q: STUN takes no credentials", item)
			}
			s = webrtc.ICEServer{URLs: []string{scheme + ":" + host}, Username: user, Credential: pass, CredentialType: webrtc.ICECredentialTypePassword}
		}
		out = append(out, s)
	}
	return out, nil
}
