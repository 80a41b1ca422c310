package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
)

// env builds a getenv from pairs, so tests never see the real environment.
func env(pairs ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	cfg, err := loadConfig([]string{"--data-dir", dir}, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.SIPListen.String(); got != "0.0.0.0:5060" {
		t.Errorf("sip-listen = %s, want 0.0.0.0:5060", got)
	}
	if cfg.RTPPorts != (PortRange{20000, 29999}) {
		t.Errorf("rtp-ports = %v", cfg.RTPPorts)
	}
	if cfg.XMPPComponent != "127.0.0.1:5347" || cfg.XMPPDomain != "conference.localhost" {
		t.Errorf("xmpp = %s %s", cfg.XMPPComponent, cfg.XMPPDomain)
	}
	if cfg.ChatEnabled() {
		t.Error("chat face on without a secret")
	}
	if cfg.HTTPListen != "127.0.0.1:8080" || cfg.LogFormat != "text" || cfg.RedisURL != "" {
		t.Errorf("http/log/redis = %s %s %q", cfg.HTTPListen, cfg.LogFormat, cfg.RedisURL)
	}
	host := hostName()
	if cfg.NodeID != strings.ToLower(host) && cfg.NodeID != host {
		t.Errorf("node-id = %s, want the host name %s", cfg.NodeID, host)
	}
	if cfg.RTPAddress.IsUnspecified() || !cfg.RTPAddress.IsValid() {
		t.Errorf("rtp-address = %v, want a concrete address when SIP listens on all", cfg.RTPAddress)
	}
	if cfg.ShutdownTimeout != 10*time.Second {
		t.Errorf("shutdown-timeout = %v", cfg.ShutdownTimeout)
	}
}

func TestDirectoryRules(t *testing.T) {
	cfg, err := loadConfig([]string{"--data-dir", t.TempDir(), "--directory", "sip:*@pbx.test=*@example.test, sip:+15550100@pbx.test=carol@example.test"}, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Directory) != 2 || cfg.Directory[0].JID != "*@example.test" || cfg.Directory[1].SIP != "sip:+15550100@pbx.test" {
		t.Errorf("directory = %+v", cfg.Directory)
	}
	if !cfg.AnnounceDialIn {
		t.Error("announce-dial-in should default to true")
	}
}

func TestRTPAddressFollowsSIPListen(t *testing.T) {
	cfg, err := loadConfig([]string{"--data-dir", t.TempDir(), "--sip-listen", "127.0.0.5:5070"}, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RTPAddress.String() != "127.0.0.5" {
		t.Errorf("rtp-address = %v, want the SIP listen address 127.0.0.5", cfg.RTPAddress)
	}
}

// Each source overrides the one below it: default < file < env < flag.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, "bridge.yaml", "sip-domain: file.test\nxmpp-domain: chat.file.test\nnode-id: file-node\ndata-dir: "+dir+"\n")
	cases := []struct {
		name       string
		args       []string
		env        []string
		wantDomain string
		wantNode   string
		wantXMPP   string
	}{
		{"file over default", []string{"--config", file}, nil, "file.test", "file-node", "chat.file.test"},
		{"env over file", []string{"--config", file}, []string{"BRIDGE_SIP_DOMAIN", "env.test"}, "env.test", "file-node", "chat.file.test"},
		{"flag over env", []string{"--config", file, "--sip-domain", "flag.test"}, []string{"BRIDGE_SIP_DOMAIN", "env.test"}, "flag.test", "file-node", "chat.file.test"},
		{"config file from env", nil, []string{"BRIDGE_CONFIG", file, "BRIDGE_NODE_ID", "env-node"}, "file.test", "env-node", "chat.file.test"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadConfig(c.args, env(c.env...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SIPDomain != c.wantDomain || cfg.NodeID != c.wantNode || cfg.XMPPDomain != c.wantXMPP {
				t.Errorf("got domain=%s node=%s xmpp=%s, want %s %s %s", cfg.SIPDomain, cfg.NodeID, cfg.XMPPDomain, c.wantDomain, c.wantNode, c.wantXMPP)
			}
		})
	}
}

// A bad setting is reported in one line naming the setting, the value, where
// it came from and what is wrong.
// TestSIPAdvertise: other nodes redirect phones to the address phones
// already reach this node's media at, with the SIP port, unless told.
func TestSIPAdvertise(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sip-listen", "127.0.0.1:5070"}, "127.0.0.1:5070"},
		{[]string{"--sip-listen", "0.0.0.0:5070", "--rtp-address", "10.0.0.7"}, "10.0.0.7:5070"},
		{[]string{"--sip-advertise", "sip.example.test:5060"}, "sip.example.test:5060"},
		{[]string{"--sip-advertise", "[2001:db8::7]:5060"}, "[2001:db8::7]:5060"},
	} {
		cfg, err := loadConfig(append([]string{"--data-dir", t.TempDir()}, c.args...), env(), io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if cfg.SIPAdvertise != c.want {
			t.Errorf("%v: sip-advertise = %q, want %q", c.args, cfg.SIPAdvertise, c.want)
		}
	}
}

func TestBadSettings(t *testing.T) {
	readOnly := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	notADir := writeFile(t, "plain", "x")
	cases := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"port range upside down", []string{"--rtp-ports", "30000-20000"}, nil,
			[]string{`invalid rtp-ports "30000-20000"`, "flag --rtp-ports", "above upper bound"}},
		{"port range not a range", []string{"--rtp-ports", "20000"}, nil, []string{`invalid rtp-ports "20000"`, "LOW-HIGH"}},
		{"port out of range", []string{"--rtp-ports", "1-70000"}, nil, []string{"invalid rtp-ports", "1 to 65535"}},
		{"unparsable listen address", []string{"--sip-listen", "nowhere"}, nil, []string{`invalid sip-listen "nowhere"`, "want IP:port"}},
		{"listen host not an IP", nil, []string{"BRIDGE_SIP_LISTEN", "example.test:5060"}, []string{`invalid sip-listen "example.test:5060"`, "environment BRIDGE_SIP_LISTEN", "IP address"}},
		{"http listen without port", []string{"--http-listen", "127.0.0.1"}, nil, []string{`invalid http-listen "127.0.0.1"`, "host:port"}},
		{"bad rtp address", []string{"--rtp-address", "0.0.0.0"}, nil, []string{`invalid rtp-address "0.0.0.0"`, "unspecified"}},
		{"bad domain", []string{"--xmpp-domain", "chat room"}, nil, []string{`invalid xmpp-domain "chat room"`, "not allowed"}},
		{"bad log format", []string{"--log-format", "xml"}, nil, []string{`invalid log-format "xml"`, "text or json"}},
		{"bad redis url", []string{"--redis-url", "http://x"}, nil, []string{`invalid redis-url "http://x"`, "scheme"}},
		{"bad node id", []string{"--node-id", "a/b"}, nil, []string{`invalid node-id "a/b"`}},
		{"data dir is a file", []string{"--data-dir", notADir}, nil, []string{"invalid data-dir", "cannot create it"}},
		{"tls without cert", []string{"--sip-tls-listen", "127.0.0.1:5061"}, nil, []string{`invalid sip-cert ""`, "is set, so a sip-cert file is needed"}},
		{"cert without tls", []string{"--sip-cert", notADir}, nil, []string{"invalid sip-cert", "without --sip-tls-listen"}},
		{"unreadable cert", []string{"--sip-tls-listen", "127.0.0.1:5061", "--sip-cert", "/nonexistent.pem"}, nil, []string{"invalid sip-cert", "no such file"}},
		{"directory rule without =", []string{"--directory", "sip:*@a.test"}, nil, []string{"invalid directory", "want SIP=JID"}},
		{"directory rule with one star", []string{"--directory", "sip:*@a.test=bob@a.test"}, nil, []string{"invalid directory", "one * on both sides"}},
		{"announce not a bool", nil, []string{"BRIDGE_ANNOUNCE_DIAL_IN", "maybe"}, []string{`invalid announce-dial-in "maybe"`, "true or false"}},
		{"advertise without port", []string{"--sip-advertise", "10.0.0.7"}, nil, []string{`invalid sip-advertise "10.0.0.7"`, "host:port"}},
		{"tls advertise without tls", []string{"--sip-tls-advertise", "10.0.0.7:5061"}, nil, []string{`invalid sip-tls-advertise "10.0.0.7:5061"`, "without --sip-tls-listen"}},
		{"advertise unspecified", []string{"--sip-advertise", "0.0.0.0:5060"}, nil, []string{`invalid sip-advertise "0.0.0.0:5060"`, "unspecified"}},
		{"unknown route mode", []string{"--route-mode", "forward"}, nil, []string{`invalid route-mode "forward"`, "redirect or proxy"}},
		{"component CA without TLS", []string{"--xmpp-component-ca", "/etc/hostname"}, nil, []string{"invalid xmpp-component-tls", "without TLS"}},
		{"component CA unreadable", []string{"--xmpp-component-tls", "true", "--xmpp-component-ca", "/nonexistent.pem"}, nil, []string{"invalid xmpp-component-tls", "cannot read it"}},
		{"component CA not PEM", []string{"--xmpp-component-tls", "true", "--xmpp-component-ca", notADir}, nil, []string{"holds no PEM certificate"}},
		{"unknown media encryption", []string{"--media-encryption", "always"}, nil, []string{`invalid media-encryption "always"`, "optional, required or off"}},
		{"web cert without key", []string{"--web-listen", "127.0.0.1:8443", "--web-key", ""}, []string{"BRIDGE_WEB_CERT", "/nonexistent.pem"}, []string{"web-cert", "cannot read it"}},
		{"web public URL with a query", []string{"--web-listen", "127.0.0.1:8443", "--web-public-url", "https://meet.example.com/?x=1"}, nil, []string{"invalid web-public-url", "no query"}},
		{"web public URL without browser join", []string{"--web-public-url", "https://meet.example.com"}, nil, []string{"invalid web-public-url", "without --web-listen"}},
		{"bad NAT IP", []string{"--web-listen", "127.0.0.1:8443", "--web-nat-ip", "cloud"}, nil, []string{"invalid web-nat-ip", "IP address"}},
		{"ICE server scheme", []string{"--web-listen", "127.0.0.1:8443", "--web-ice-servers", "http://stun.example.com"}, nil, []string{"invalid web-ice-servers", "stun:"}},
		{"STUN with credentials", []string{"--web-listen", "127.0.0.1:8443", "--web-ice-servers", "stun:u:p@stun.example.com:3478"}, nil, []string{"STUN takes no credentials"}},
		{"media port out of range", []string{"--web-listen", "127.0.0.1:8443", "--web-media-port", "70000"}, nil, []string{"invalid web-media-port", "1-65535"}},
		{"lease ttl too short", []string{"--room-lease-ttl", "200ms"}, nil, []string{`invalid room-lease-ttl "200ms"`, "at least 1s"}},
		{"drain timeout not a duration", nil, []string{"BRIDGE_DRAIN_TIMEOUT", "soon"}, []string{`invalid drain-timeout "soon"`, "positive duration"}},
		{"unknown flag", []string{"--sip-lisen", "x"}, nil, []string{"flag provided but not defined: -sip-lisen"}},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		cases = append(cases, struct {
			name string
			args []string
			env  []string
			want []string
		}{"data dir read-only", []string{"--data-dir", readOnly}, nil, []string{"invalid data-dir", "not writable"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--data-dir", t.TempDir()}, c.args...)
			_, err := loadConfig(args, env(c.env...), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	cases := []struct {
		name, content string
		want          []string
	}{
		{"unknown key", "sip-listen: 127.0.0.1:5060\nsip-lisen: x\n", []string{"line 2", `unknown setting "sip-lisen"`}},
		{"duplicate key", "node-id: a\nnode-id: b\n", []string{"line 2", "given twice", "line 1"}},
		{"list value", "rtp-ports:\n  - 1\n", []string{"line 2", "single value"}},
		{"not a mapping", "- a\n- b\n", []string{"want a mapping"}},
		{"broken yaml", "sip-listen: [\n", []string{"not valid YAML"}},
		{"bad value", "rtp-ports: 9-3\n", []string{`invalid rtp-ports "9-3"`, "config file", ":1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "bridge.yaml", c.content)
			_, err := loadConfig([]string{"--config", p, "--data-dir", t.TempDir()}, env(), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := loadConfig([]string{"--config", filepath.Join(t.TempDir(), "none.yaml")}, env(), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("err = %v, want it to say the file does not exist", err)
		}
	})
	t.Run("empty file is fine", func(t *testing.T) {
		p := writeFile(t, "bridge.yaml", "# nothing set\n")
		if _, err := loadConfig([]string{"--config", p, "--data-dir", t.TempDir()}, env(), io.Discard); err != nil {
			t.Error(err)
		}
	})
}

func TestHelpDocumentsEverySetting(t *testing.T) {
	var out strings.Builder
	_, err := loadConfig([]string{"--help"}, env(), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, s := range settings {
		for _, w := range []string{"--" + s.name, s.envName()} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("--help does not mention %s", w)
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	if got := redactURL("redis://user:hunter2@127.0.0.1:6379/0"); strings.Contains(got, "hunter2") {
		t.Errorf("password leaked: %s", got)
	}
}

// FuzzConfigYAML: whatever the file holds, parsing returns values or an error
// on one line, never a panic, and only known setting names come out.
func FuzzConfigYAML(f *testing.F) {
	f.Add([]byte("sip-listen: 127.0.0.1:5060\nrtp-ports: 20000-20100\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Add([]byte("---\n...\n---\n"))
	f.Add([]byte("{sip-domain: x, sip-domain: y}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := parseConfigYAML(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error: %q", err)
			}
			return
		}
		for _, v := range values {
			if _, ok := settingByName(v.name); !ok {
				t.Errorf("unknown setting %q accepted", v.name)
			}
		}
	})
}

// TestComponentTLSSettings: TLS to the component port verifies the server
// by the host of --xmpp-component unless a name is given, against the
// system's CAs unless a file is.
func TestComponentTLSSettings(t *testing.T) {
	ca, _, _ := testpeer.CA(t)
	cfg, err := loadConfig([]string{"--data-dir", t.TempDir(), "--xmpp-component", "xmpp.example.com:5347", "--xmpp-component-tls", "true"}, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.XMPPTLS == nil || cfg.XMPPTLS.ServerName != "xmpp.example.com" || cfg.XMPPTLS.RootCAs != nil || cfg.XMPPTLS.InsecureSkipVerify {
		t.Errorf("TLS settings %+v: want the component host as name, the system's CAs, verification on", cfg.XMPPTLS)
	}
	cfg, err = loadConfig([]string{"--data-dir", t.TempDir(), "--xmpp-component-tls", "true", "--xmpp-component-ca", ca, "--xmpp-component-tls-name", "example.test"}, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.XMPPTLS.ServerName != "example.test" || cfg.XMPPTLS.RootCAs == nil {
		t.Errorf("TLS settings %+v: want the given name and CA", cfg.XMPPTLS)
	}
	if cfg, _ := loadConfig([]string{"--data-dir", t.TempDir()}, env(), io.Discard); cfg.XMPPTLS != nil {
		t.Error("TLS to the component port is on by default")
	}
}
