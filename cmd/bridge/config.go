package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"cusax.dev/bridge/focus"
	storeredis "cusax.dev/bridge/store/redis"
	bsync "cusax.dev/bridge/sync"
)

// Config is the validated configuration every part of the bridge is built
// from. Only cmd/bridge knows all of it; packages get their own small Config.
type Config struct {
	SIPListen       netip.AddrPort
	SIPDomain       string
	SIPTLSListen    netip.AddrPort // zero: no TLS
	SIPCert         string
	SIPKey          string
	RTPPorts        PortRange
	RTPLegsPerPort  int // legs of a room sharing one RTP port; 1: a port per leg
	RTPAddress      netip.Addr
	XMPPComponent   string
	XMPPDomain      string
	XMPPSecret      string
	Directory       []bsync.DirectoryRule
	AnnounceDialIn  bool
	JoinTokenTTL    time.Duration
	PromptsDir      string // empty: the built-in prompts
	PromptLanguage  string
	JoinTonesUpTo   int
	HTTPListen      string
	DataDir         string
	RedisURL        string
	NodeID          string
	LogFormat       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	SIPAdvertise    string // host:port
	SIPTLSAdvertise string // host:port; empty without TLS
	RoomLeaseTTL    time.Duration
	ProxyCalls      bool // --route-mode proxy
	DrainTimeout    time.Duration
	AdminTokenFile  string
	AdminToken      string  // read from AdminTokenFile; empty: loopback only
	MaxCalls        int     // 0: no limit
	InviteRate      float64 // new INVITEs a second per source address; 0: no limit
	InviteBurst     int     // 0: no limit
	RealtimePrio    int     // SCHED_RR priority of every thread; 0: off
	Web             WebConfig
	XMPPTLS         *tls.Config // nil: plain TCP to the component port
	MediaEncryption string      // optional, required or off

	// ConfigFile is the YAML file the settings were read from, if any.
	ConfigFile string
}

// ChatEnabled reports whether the XMPP chat face runs: it needs a secret.
func (c Config) ChatEnabled() bool { return c.XMPPSecret != "" }

// PortRange is an inclusive range of UDP ports.
type PortRange struct{ Low, High int }

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Low, r.High) }

// maxConfigFileSize bounds the YAML file: a configuration is a few hundred
// bytes, and a huge file is a mistake (a log or binary given by accident).
const maxConfigFileSize = 1 << 20

// loadConfig builds the configuration from, in rising priority: defaults,
// the YAML file (--config or BRIDGE_CONFIG), the environment and the flags.
// args are the command-line arguments after the subcommand; usage receives
// the --help text. It returns flag.ErrHelp when help was asked for.
func loadConfig(args []string, getenv func(string) (string, bool), usage io.Writer) (Config, error) {
	return loadConfigFor(args, getenv, usage, true)
}

// loadClientConfig is loadConfig for the commands that only talk to a
// running node (`bridge drain`, `bridge rooms`, `bridge room …`): they read
// the node's own configuration for its addresses and token, and leave its
// data directory alone (neither create it nor write in it).
func loadClientConfig(args []string, getenv func(string) (string, bool), usage io.Writer) (Config, error) {
	return loadConfigFor(args, getenv, usage, false)
}

// loadConfigFor is loadConfig; ownsData says whether the command uses the
// data directory (and so has it created and checked for writing).
func loadConfigFor(args []string, getenv func(string) (string, bool), usage io.Writer, ownsData bool) (Config, error) {
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flagValues := make(map[string]*string, len(settings))
	for _, s := range settings {
		flagValues[s.name] = fs.String(s.name, "", s.usage)
	}
	configFlag := fs.String(keyConfigFile, "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeUsage(usage)
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w (see bridge --help)", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see bridge --help)", fs.Arg(0))
	}
	setFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setFlags[f.Name] = true })

	raw := make(map[string]rawValue, len(settings))
	for _, s := range settings {
		raw[s.name] = rawValue{value: s.def(), source: fromDefault}
	}

	configFile := ""
	if v, ok := getenv(configFileEnvName); ok {
		configFile = v
	}
	if setFlags[keyConfigFile] {
		configFile = *configFlag
	}
	if configFile != "" {
		if err := readConfigFile(configFile, raw); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if v, ok := getenv(s.envName()); ok {
			raw[s.name] = rawValue{value: v, source: fromEnv, where: s.envName()}
		}
	}
	for _, s := range settings {
		if setFlags[s.name] {
			raw[s.name] = rawValue{value: *flagValues[s.name], source: fromFlag, where: "--" + s.name}
		}
	}
	cfg, err := validate(raw, ownsData)
	cfg.ConfigFile = configFile
	return cfg, err
}

// readConfigFile reads a YAML mapping of setting names to scalar values into
// raw. Unknown keys are errors: a misspelt key silently ignored is a setting
// the operator believes in and does not have.
func readConfigFile(path string, raw map[string]rawValue) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("invalid config %q: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFileSize+1))
	if err != nil {
		return fmt.Errorf("invalid config %q: reading: %w", path, err)
	}
	if len(data) > maxConfigFileSize {
		return fmt.Errorf("invalid config %q: larger than %d bytes", path, maxConfigFileSize)
	}
	values, err := parseConfigYAML(data)
	if err != nil {
		return fmt.Errorf("invalid config %q: %w", path, err)
	}
	for _, v := range values {
		raw[v.name] = rawValue{value: v.value, source: fromFile, where: fmt.Sprintf("%s:%d", path, v.line)}
	}
	return nil
}

// fileValue is one key of the YAML file.
type fileValue struct {
	name, value string
	line        int
}

// parseConfigYAML parses the configuration file: an optional mapping from
// known setting names to scalars. An empty file is a valid, empty mapping.
func parseConfigYAML(data []byte) ([]fileValue, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("not valid YAML: %s", oneLine(err.Error()))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document; want one mapping of settings")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of settings (key: value), got a %s", root.Line, kindName(root.Kind))
	}
	seen := map[string]int{}
	values := make([]fileValue, 0, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: want a setting name as key, got a %s", key.Line, kindName(key.Kind))
		}
		if _, ok := settingByName(key.Value); !ok {
			return nil, fmt.Errorf("line %d: unknown setting %q (see bridge --help for the names)", key.Line, key.Value)
		}
		if first, dup := seen[key.Value]; dup {
			return nil, fmt.Errorf("line %d: setting %q given twice (first on line %d)", key.Line, key.Value, first)
		}
		seen[key.Value] = key.Line
		if val.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: setting %q wants a single value, got a %s", val.Line, key.Value, kindName(val.Kind))
		}
		value := val.Value
		if val.Tag == "!!null" {
			value = ""
		}
		values = append(values, fileValue{name: key.Value, value: value, line: key.Line})
	}
	return values, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	default:
		return "document"
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// validate turns raw text into a Config, or names the first bad setting.
// Settings are checked in --help order so the same input always reports the
// same error.
func validate(raw map[string]rawValue, ownsData bool) (Config, error) {
	var cfg Config
	check := func(name string, parse func(string) error) error {
		r := raw[name]
		if err := parse(strings.TrimSpace(r.value)); err != nil {
			return &settingError{name: name, raw: r, err: err}
		}
		return nil
	}
	steps := []struct {
		name  string
		parse func(string) error
	}{
		{keySIPListen, func(v string) (err error) { cfg.SIPListen, err = parseListenAddr(v); return }},
		{keySIPDomain, func(v string) (err error) { cfg.SIPDomain, err = parseDomain(v); return }},
		{keySIPTLSListen, func(v string) (err error) {
			if v != "" {
				cfg.SIPTLSListen, err = parseListenAddr(v)
			}
			return
		}},
		{keySIPCert, func(v string) (err error) { cfg.SIPCert, err = tlsFile(v, cfg.SIPTLSListen, keySIPCert); return }},
		{keySIPKey, func(v string) (err error) { cfg.SIPKey, err = tlsFile(v, cfg.SIPTLSListen, keySIPKey); return }},
		{keyRTPPorts, func(v string) (err error) { cfg.RTPPorts, err = parsePortRange(v); return }},
		{keyRTPLegsPort, func(v string) (err error) { cfg.RTPLegsPerPort, err = parseLegsPerPort(v); return }},
		{keyRTPAddress, func(v string) (err error) { cfg.RTPAddress, err = parseRTPAddress(v, cfg.SIPListen); return }},
		{keyXMPPComponent, func(v string) (err error) { cfg.XMPPComponent, err = parseHostPort(v); return }},
		{keyXMPPDomain, func(v string) (err error) { cfg.XMPPDomain, err = parseDomain(v); return }},
		{keyXMPPSecret, func(v string) error { cfg.XMPPSecret = v; return nil }},
		{keyXMPPTLS, func(v string) (err error) {
			cfg.XMPPTLS, err = componentTLS(v, raw[keyXMPPTLSCA].value, raw[keyXMPPTLSName].value, cfg.XMPPComponent)
			return
		}},
		{keyDirectory, func(v string) (err error) { cfg.Directory, err = parseDirectory(v); return }},
		{keyAnnounceDialIn, func(v string) (err error) { cfg.AnnounceDialIn, err = parseBool(v); return }},
		{keyJoinTokenTTL, func(v string) (err error) { cfg.JoinTokenTTL, err = parsePositiveDuration(v); return }},
		{keyPromptsDir, func(v string) (err error) { cfg.PromptsDir, err = parsePromptsDir(v); return }},
		{keyPromptLanguage, func(v string) (err error) { cfg.PromptLanguage, err = parsePromptLanguage(v, cfg.PromptsDir); return }},
		{keyJoinTonesUpTo, func(v string) (err error) { cfg.JoinTonesUpTo, err = parseJoinTonesUpTo(v); return }},
		{keyHTTPListen, func(v string) (err error) { cfg.HTTPListen, err = parseHostPort(v); return }},
		{keyDataDir, func(v string) (err error) {
			if !ownsData {
				cfg.DataDir, err = dataDirPath(v)
				return
			}
			cfg.DataDir, err = prepareDataDir(v)
			return
		}},
		{keyRedisURL, func(v string) (err error) { cfg.RedisURL, err = parseRedisURL(v); return }},
		{keyNodeID, func(v string) (err error) { cfg.NodeID, err = parseNodeID(v); return }},
		{keyLogFormat, func(v string) (err error) { cfg.LogFormat, err = parseLogFormat(v); return }},
		{keyLogLevel, func(v string) error { return cfg.LogLevel.UnmarshalText([]byte(v)) }},
		{keyShutdownGrace, func(v string) (err error) { cfg.ShutdownTimeout, err = parsePositiveDuration(v); return }},
		{keySIPAdvertise, func(v string) (err error) {
			cfg.SIPAdvertise, err = parseAdvertise(v, cfg.RTPAddress, cfg.SIPListen)
			return
		}},
		{keySIPTLSAdvert, func(v string) (err error) {
			cfg.SIPTLSAdvertise, err = parseTLSAdvertise(v, cfg.RTPAddress, cfg.SIPTLSListen)
			return
		}},
		{keyRoomLeaseTTL, func(v string) (err error) { cfg.RoomLeaseTTL, err = parseLeaseTTL(v); return }},
		{keyRouteMode, func(v string) (err error) { cfg.ProxyCalls, err = parseRouteMode(v); return }},
		{keyDrainTimeout, func(v string) (err error) { cfg.DrainTimeout, err = parsePositiveDuration(v); return }},
		{keyAdminTokenFile, func(v string) (err error) { cfg.AdminTokenFile, cfg.AdminToken, err = readAdminToken(v); return }},
		{keyMaxCalls, func(v string) (err error) { cfg.MaxCalls, err = parseMaxCalls(v); return }},
		{keyInviteRate, func(v string) (err error) { cfg.InviteRate, err = parseInviteRate(v); return }},
		{keyInviteBurst, func(v string) (err error) { cfg.InviteBurst, err = parseInviteBurst(v); return }},
		{keyRealtimePrio, func(v string) (err error) { cfg.RealtimePrio, err = parseRealtimePrio(v); return }},
		{keyMediaEncrypt, func(v string) (err error) { cfg.MediaEncryption, err = parseMediaEncryption(v); return }},
		{keyWebListen, func(v string) (err error) { cfg.Web.Listen, err = parseOptionalHostPort(v); return }},
		{keyWebCert, func(v string) (err error) {
			cfg.Web.Cert, err = webTLSFile(v, cfg.Web.Listen, raw[keyWebKey].value, keyWebKey)
			return
		}},
		{keyWebKey, func(v string) (err error) {
			cfg.Web.Key, err = webTLSFile(v, cfg.Web.Listen, raw[keyWebCert].value, keyWebCert)
			return
		}},
		{keyWebPublicURL, func(v string) (err error) { cfg.Web.PublicURL, err = parsePublicURL(v, cfg.Web); return }},
		{keyWebNATIP, func(v string) (err error) { cfg.Web.NATIP, err = parseOptionalIP(v); return }},
		{keyWebICEServers, func(v string) (err error) { cfg.Web.ICEServers, err = parseICEServers(v); return }},
		{keyWebMediaPort, func(v string) (err error) { cfg.Web.MediaPort, err = parseOptionalPort(v); return }},
	}
	for _, s := range steps {
		if err := check(s.name, s.parse); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// parseListenAddr wants an IP literal and a port: a listener bound through a
// name lookup would depend on DNS at start-up.
func parseListenAddr(v string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("want IP:port, e.g. 0.0.0.0:5060: %w", err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("want an IP address before the port, got %q", host)
	}
	p, err := parsePort(port)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// tlsFile checks a certificate or key file when SIP over TLS is on, and
// refuses one given without --sip-tls-listen (it would silently do nothing).
func tlsFile(v string, tlsListen netip.AddrPort, name string) (string, error) {
	if !tlsListen.IsValid() {
		if v != "" {
			return "", fmt.Errorf("given without --%s, so it would not be used", keySIPTLSListen)
		}
		return "", nil
	}
	if v == "" {
		return "", fmt.Errorf("--%s is set, so a %s file is needed", keySIPTLSListen, name)
	}
	f, err := os.Open(v)
	if err != nil {
		return "", fmt.Errorf("cannot read it: %w", unwrapPathError(err))
	}
	f.Close()
	return v, nil
}

// parseHostPort accepts a host name or IP with a port (an XMPP server in a
// cluster is usually reached by its service name).
func parseHostPort(v string) (string, error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("want host:port: %w", err)
	}
	if host == "" {
		return "", errors.New("want host:port, the host is empty")
	}
	if _, err := netip.ParseAddr(host); err != nil {
		if _, err := parseDomain(host); err != nil {
			return "", fmt.Errorf("host %q is neither an IP address nor a host name", host)
		}
	}
	if _, err := parsePort(port); err != nil {
		return "", err
	}
	return v, nil
}

func parsePort(v string) (int, error) {
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("want a port from 1 to 65535, got %q", v)
	}
	return p, nil
}

// parsePortRange wants LOW-HIGH with room for at least one RTP/RTCP pair.
func parsePortRange(v string) (PortRange, error) {
	lo, hi, ok := strings.Cut(v, "-")
	if !ok {
		return PortRange{}, errors.New("want a range LOW-HIGH, e.g. 20000-29999")
	}
	low, err := parsePort(strings.TrimSpace(lo))
	if err != nil {
		return PortRange{}, fmt.Errorf("lower bound: %w", err)
	}
	high, err := parsePort(strings.TrimSpace(hi))
	if err != nil {
		return PortRange{}, fmt.Errorf("upper bound: %w", err)
	}
	if low > high {
		return PortRange{}, fmt.Errorf("lower bound %d is above upper bound %d", low, high)
	}
	if high-low < 1 {
		return PortRange{}, errors.New("want at least two ports, one RTP/RTCP pair")
	}
	return PortRange{Low: low, High: high}, nil
}

// parseRTPAddress returns the address put in SDP. When it is not given, the
// SIP address is used, unless SIP listens on all interfaces: then the first
// non-loopback address of this host, so phones elsewhere can reach us.
func parseRTPAddress(v string, sip netip.AddrPort) (netip.Addr, error) {
	if v != "" {
		ip, err := netip.ParseAddr(v)
		if err != nil {
			return netip.Addr{}, errors.New("want an IP address")
		}
		if ip.IsUnspecified() {
			return netip.Addr{}, errors.New("an unspecified address cannot be advertised in SDP; give the address phones should send to")
		}
		return ip.Unmap(), nil
	}
	if !sip.Addr().IsUnspecified() {
		return sip.Addr(), nil
	}
	return firstHostAddr(sip.Addr().Is6()), nil
}

func firstHostAddr(want6 bool) netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.Is6() != want6 {
				continue
			}
			return ip
		}
	}
	if want6 {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// parseDomain accepts a DNS name (letters, digits, hyphens, dots), the shape
// both SIP and XMPP domains must have, or an IP literal, which SIP allows.
func parseDomain(v string) (string, error) {
	if v == "" {
		return "", errors.New("want a domain name, got nothing")
	}
	if ip, err := netip.ParseAddr(v); err == nil {
		return ip.String(), nil
	}
	if len(v) > 253 {
		return "", errors.New("a domain name has at most 253 characters")
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 {
			return "", errors.New("want dot-separated labels of 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("label %q starts or ends with a hyphen", label)
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return "", fmt.Errorf("character %q is not allowed in a domain name", r)
			}
		}
	}
	return strings.ToLower(v), nil
}

// dataDirPath is the data directory's absolute path, untouched.
func dataDirPath(v string) (string, error) {
	if v == "" {
		return "", errors.New("want a directory path, got nothing")
	}
	return filepath.Abs(v)
}

// prepareDataDir creates the directory if needed and proves it is writable,
// so a read-only volume is reported at start-up, not at the first write.
func prepareDataDir(v string) (string, error) {
	abs, err := dataDirPath(v)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", fmt.Errorf("cannot create it: %w", errors.Unwrap(err))
	}
	probe, err := os.CreateTemp(abs, ".write-check-*")
	if err != nil {
		return "", fmt.Errorf("not writable: %w", unwrapPathError(err))
	}
	name := probe.Name()
	probe.Close()
	if err := os.Remove(name); err != nil {
		return "", fmt.Errorf("cannot remove a file in it: %w", unwrapPathError(err))
	}
	return abs, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseRedisURL accepts what the Redis store accepts: a single server,
// Sentinel or Cluster URL (see store/redis.ParseURL).
func parseRedisURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if _, err := storeredis.ParseURL(v); err != nil {
		return "", errors.New(oneLine(strings.TrimPrefix(err.Error(), "redis: ")))
	}
	return v, nil
}

// parseDirectory reads comma-separated SIP=JID rules; sync checks the
// pattern syntax itself when it compiles them.
func parseDirectory(v string) ([]bsync.DirectoryRule, error) {
	if v == "" {
		return nil, nil
	}
	var rules []bsync.DirectoryRule
	for _, pair := range strings.Split(v, ",") {
		sip, jid, ok := strings.Cut(strings.TrimSpace(pair), "=")
		sip, jid = strings.TrimSpace(sip), strings.TrimSpace(jid)
		if !ok || sip == "" || jid == "" {
			return nil, fmt.Errorf("rule %q: want SIP=JID, e.g. sip:*@example.test=*@example.test", pair)
		}
		if !strings.HasPrefix(sip, "sip:") && !strings.HasPrefix(sip, "sips:") {
			return nil, fmt.Errorf("rule %q: the SIP side must be a sip: or sips: address", pair)
		}
		if strings.Count(sip, "*") != strings.Count(jid, "*") || strings.Count(sip, "*") > 1 {
			return nil, fmt.Errorf("rule %q: want one * on both sides or none", pair)
		}
		rules = append(rules, bsync.DirectoryRule{SIP: sip, JID: jid})
	}
	return rules, nil
}

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("want true or false")
	}
	return b, nil
}

func parseNodeID(v string) (string, error) {
	if v == "" {
		return "", errors.New("want a name, got nothing")
	}
	for _, r := range v {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", fmt.Errorf("character %q is not allowed; use letters, digits, '.', '-' and '_'", r)
		}
	}
	return v, nil
}

func parseLogFormat(v string) (string, error) {
	switch v {
	case "text", "json":
		return v, nil
	}
	return "", errors.New("want text or json")
}

func parsePositiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration such as 10s")
	}
	return d, nil
}

// parseAdvertise returns where other nodes send phones for rooms owned
// here; by default the address phones already send RTP to, with the SIP port.
func parseAdvertise(v string, rtp netip.Addr, sip netip.AddrPort) (string, error) {
	if v == "" {
		return netip.AddrPortFrom(rtp, sip.Port()).String(), nil
	}
	hp, err := parseHostPort(v)
	if err != nil {
		return "", err
	}
	if ip, err := netip.ParseAddr(strings.Trim(hp[:strings.LastIndex(hp, ":")], "[]")); err == nil && ip.IsUnspecified() {
		return "", errors.New("an unspecified address cannot be advertised; give the address phones and other nodes should send SIP to")
	}
	return hp, nil
}

func parseRouteMode(v string) (proxy bool, err error) {
	switch v {
	case "redirect":
		return false, nil
	case "proxy":
		return true, nil
	}
	return false, errors.New("want redirect or proxy")
}

// parseTLSAdvertise is parseAdvertise for the TLS listener, which may be
// off: then nothing can be advertised.
func parseTLSAdvertise(v string, rtp netip.Addr, tls netip.AddrPort) (string, error) {
	if !tls.IsValid() {
		if v != "" {
			return "", fmt.Errorf("given without --%s, so there is no TLS listener to advertise", keySIPTLSListen)
		}
		return "", nil
	}
	return parseAdvertise(v, rtp, tls)
}

// parseLeaseTTL wants a TTL long enough to renew over a real network:
// renewals go every third of it.
func parseLeaseTTL(v string) (time.Duration, error) {
	d, err := parsePositiveDuration(v)
	if err != nil {
		return 0, err
	}
	if d < time.Second {
		return 0, errors.New("want at least 1s: leases are renewed every third of it, over the network")
	}
	return d, nil
}

// writeUsage documents every setting with its flag, variable and default.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `CUSAX Bridge: one room, two faces: a SIP audio conference and an XMPP chat room.

Usage:
  bridge [flags]                run the bridge
  bridge check-config [flags]   validate the configuration, print it, and exit
  bridge drain [flags]          ask the node with this configuration to stop taking
                                new calls, and wait until its calls end (preStop)
  bridge rooms [--output json]  list every room with its participants (admin API)
  bridge room show|mute|unmute|kick|ban|end ROOM [NICK] [--reason TEXT] [--output json]
                                show a room or act on it as a moderator would
  bridge room limit ROOM MAX    set a room's most participants, chat and phones (0: none)
  bridge room dial ROOM SIP-URI call a phone into a room
  bridge version                print the version and exit

Each setting comes from, in rising priority: its default, the YAML file given
by --config (or BRIDGE_CONFIG) with the setting's name as key, the environment
variable, and the flag.

Settings:
  --config FILE
        YAML configuration file (env BRIDGE_CONFIG)
`)
	for _, s := range settings {
		def := s.def()
		if def == "" {
			def = "empty"
		}
		fmt.Fprintf(w, "  --%s\n        %s\n        env %s, default %s\n", s.name, s.usage, s.envName(), def)
	}
}

// parseMediaEncryption reads --media-encryption.
func parseMediaEncryption(v string) (string, error) {
	switch v {
	case focus.EncryptionOptional, focus.EncryptionRequired, focus.EncryptionOff:
		return v, nil
	}
	return "", fmt.Errorf("want %s, %s or %s", focus.EncryptionOptional, focus.EncryptionRequired, focus.EncryptionOff)
}
