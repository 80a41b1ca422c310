package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"cusax.dev/bridge/mixer"
)

// A setting is one operator-facing knob. Its name is the flag (--name), the
// YAML key (name:) and, upper-cased with dashes as underscores behind
// BRIDGE_, the environment variable. These names are a public interface:
// scripts, manifests and later features rely on them, so they never change.
type setting struct {
	name  string
	usage string
	// def computes the default; it may depend on the machine (host name).
	def func() string
}

// envName is the environment variable that carries the setting.
func (s setting) envName() string {
	return "BRIDGE_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

func constant(v string) func() string { return func() string { return v } }

// hostName is the default SIP domain and node ID: good enough for a single
// machine trial, and something an operator of many nodes sets explicitly.
func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// The setting names, as constants so code that reads them cannot misspell one.
const (
	keySIPListen      = "sip-listen"
	keySIPDomain      = "sip-domain"
	keySIPTLSListen   = "sip-tls-listen"
	keySIPCert        = "sip-cert"
	keySIPKey         = "sip-key"
	keyRTPPorts       = "rtp-ports"
	keyRTPAddress     = "rtp-address"
	keyRTPLegsPort    = "rtp-legs-per-port"
	keyXMPPComponent  = "xmpp-component"
	keyXMPPDomain     = "xmpp-domain"
	keyXMPPSecret     = "xmpp-secret"
	keyXMPPTLS        = "xmpp-component-tls"
	keyXMPPTLSCA      = "xmpp-component-ca"
	keyXMPPTLSName    = "xmpp-component-tls-name"
	keyDirectory      = "directory"
	keyAnnounceDialIn = "announce-dial-in"
	keyJoinTokenTTL   = "join-token-ttl"
	keyHTTPListen     = "http-listen"
	keyDataDir        = "data-dir"
	keyRedisURL       = "redis-url"
	keyNodeID         = "node-id"
	keyLogFormat      = "log-format"
	keyLogLevel       = "log-level"
	keyShutdownGrace  = "shutdown-timeout"
	keySIPAdvertise   = "sip-advertise"
	keySIPTLSAdvert   = "sip-tls-advertise"
	keyRoomLeaseTTL   = "room-lease-ttl"
	keyRouteMode      = "route-mode"
	keyDrainTimeout   = "drain-timeout"
	keyAdminTokenFile = "admin-token-file"
	keyMaxCalls       = "max-calls"
	keyInviteRate     = "invite-rate"
	keyInviteBurst    = "invite-burst"
	keyRealtimePrio   = "realtime-priority"
	keyMediaEncrypt   = "media-encryption"
	keyWebListen      = "web-listen"
	keyWebCert        = "web-cert"
	keyWebKey         = "web-key"
	keyWebPublicURL   = "web-public-url"
	keyWebNATIP       = "web-nat-ip"
	keyWebICEServers  = "web-ice-servers"
	keyWebMediaPort   = "web-media-port"
	keyConfigFile     = "config"
	configFileEnvName = "BRIDGE_CONFIG"
)

// settings lists every knob in the order --help shows them.
var settings = []setting{
	{keySIPListen, "address the SIP focus listens on, UDP and TCP", constant("0.0.0.0:5060")},
	{keySIPDomain, "domain of the room URIs, sip:<room>@<sip-domain>", hostName},
	{keySIPTLSListen, "address the SIP focus listens on for TLS (sips:); needs --sip-cert and --sip-key; empty turns TLS off", constant("")},
	{keySIPCert, "PEM certificate (chain) file for SIP over TLS", constant("")},
	{keySIPKey, "PEM private key file for SIP over TLS", constant("")},
	{keySIPAdvertise, "host:port where phones and other nodes reach this node's SIP listener; with --redis-url, calls for rooms this node owns are redirected here (default: the RTP address and the SIP listen port)", constant("")},
	{keySIPTLSAdvert, "host:port where phones reach this node's SIP over TLS listener; with --redis-url, callers who came over TLS are sent here, never downgraded (default with --sip-tls-listen: the RTP address and the TLS port)", constant("")},
	{keyRTPPorts, "UDP port range for RTP audio, as LOW-HIGH", constant("20000-29999")},
	{keyRTPLegsPort, fmt.Sprintf("how many calls of a room may share one RTP port, told apart by the phone's address, so the mixer reads and sends a port's packets with one system call each; calls whose signalling comes from another host than their media (a NAT) always get a port of their own (1-%d; 1: a port per call)", mixer.DefaultLegsPerPort), constant(strconv.Itoa(mixer.DefaultLegsPerPort))},
	{keyRTPAddress, "address advertised in SDP for RTP (default: the SIP listen address, or this host's first non-loopback address when SIP listens on all)", constant("")},
	{keyXMPPComponent, "host:port of the XMPP server's component listener (XEP-0114)", constant("127.0.0.1:5347")},
	{keyXMPPDomain, "component domain the chat rooms live on, <room>@<xmpp-domain>", constant("conference.localhost")},
	{keyXMPPSecret, "shared secret of the XMPP component; empty turns the chat face off", constant("")},
	{keyXMPPTLS, "speak TLS on the component port (true or false), verifying the server's certificate (RFC 7590): for ejabberd's ejabberd_service with tls: true; Prosody 0.12 has no TLS there, so keep its component port on loopback or a private network", constant("false")},
	{keyXMPPTLSCA, "with --xmpp-component-tls: PEM file of the CA(s) to trust for the server's certificate (default: the system's)", constant("")},
	{keyXMPPTLSName, "with --xmpp-component-tls: the name the server's certificate must carry (default: the host of --xmpp-component)", constant("")},
	{keyDirectory, "directory rules binding callers to chat users, comma-separated SIP=JID pairs with an optional * in the user part, e.g. sip:*@example.test=*@example.test; they trust the SIP From address, so use them only behind an authenticating registrar or trunk", constant("")},
	{keyAnnounceDialIn, "send each chat occupant its personal dial-in URI by private message when it joins (true or false); occupants can always ask with !dialin", constant("true")},
	{keyJoinTokenTTL, "how long a personal dial-in URI stays valid after it was last announced", constant("24h")},
	{keyPromptsDir, "folder of voice prompts and tones phone callers hear, <language>/<name>.wav (16-bit mono, 8 or 16 kHz); empty uses the built-in set", constant("")},
	{keyPromptLanguage, "language folder of the prompts to play", constant("en")},
	{keyJoinTonesUpTo, "in rooms of at most this many calls, the others hear a tone when a call joins or leaves; 0 turns the tones off", constant("20")},
	{keyHTTPListen, "address of the ops HTTP server (/healthz, /readyz, /metrics, the admin API /api/v1/ and the dashboard at /)", constant("127.0.0.1:8080")},
	{keyAdminTokenFile, "file holding the bearer token of the admin API (/api/v1/ on the ops server, used by the dashboard and `bridge rooms`); empty: the API answers only on loopback", constant("")},
	{keyMaxCalls, "most calls this node carries at once; a call over it gets 503 with the reason (0: no limit)", constant("0")},
	{keyInviteRate, "new INVITEs a second one source address may send (token bucket), beyond which it gets 503; raise it behind a trunk or SBC, which sends every call from one address (0: no limit)", constant("20")},
	{keyInviteBurst, "how many new INVITEs one source address may send at once before --invite-rate paces it (0: no limit)", constant("40")},
	{keyRealtimePrio, "run every thread of the bridge under Linux's real-time SCHED_RR policy at this priority (1-99), so mixing and sending audio preempts the machine's other work at once: it keeps packet spacing even on a busy machine; needs CAP_SYS_NICE or an RLIMIT_RTPRIO this high, and the bridge will not start without it (0: off, ordinary scheduling)", constant("0")},
	{keyMediaEncrypt, "encrypted audio for phones: optional (SRTP over TLS when the phone offers SDES, plain RTP otherwise), required (a plain-RTP call gets 488) or off (SRTP offers get 488); browsers always use DTLS-SRTP", constant("optional")},
	{keyWebListen, "address of the public web server where chat users join the audio from their browser (/join/<room>); empty turns browser join off", constant("")},
	{keyWebCert, "PEM certificate (chain) file: the web server then speaks HTTPS, which browsers require for the microphone anywhere but on loopback", constant("")},
	{keyWebKey, "PEM private key file for --web-cert", constant("")},
	{keyWebPublicURL, "the web server's URL as browsers reach it, e.g. https://meet.example.com; the links handed out start with it (default: http(s)://<web-listen>)", constant("")},
	{keyWebNATIP, "public IP of a 1:1 NAT in front of this node (as on most clouds), announced to browsers instead of the RTP address", constant("")},
	{keyWebICEServers, "STUN/TURN URLs handed to browsers, comma-separated (stun:host:port, turn:user:password@host:port?transport=udp), for networks where they cannot reach the RTP address directly", constant("")},
	{keyWebMediaPort, "UDP port every browser's media shares, on the RTP address (0: the highest free port of --rtp-ports)", constant("0")},
	{keyDataDir, "directory of the embedded store", constant("./data")},
	{keyRedisURL, "Redis URL for many nodes (redis://, rediss:// or unix://); empty uses the embedded store", constant("")},
	{keyNodeID, "this node's name among many", hostName},
	{keyRouteMode, "with --redis-url: how a call reaching a node that does not own its room gets there: redirect (302, the phone re-dials the owner) or proxy (this node forwards the INVITE, for phones and trunks that do not follow redirects)", constant("redirect")},
	{keyRoomLeaseTTL, "with --redis-url: how long a crashed node keeps its rooms before other nodes may take them (renewed every third of it)", constant("5s")},
	{keyDrainTimeout, "how long `bridge drain` waits for this node's calls to end after it stops taking new rooms", constant("5m")},
	{keyLogFormat, "log format: text or json", constant("text")},
	{keyLogLevel, "log level: debug, info, warn or error", constant("info")},
	{keyShutdownGrace, "how long a graceful shutdown may take before the rest is cut off", constant("10s")},
}

// settingByName finds a setting; ok is false for an unknown name.
func settingByName(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

// source says where a value came from, so an error can point the operator at
// the right place to fix it.
type source string

const (
	fromDefault source = "default"
	fromFile    source = "config file"
	fromEnv     source = "environment"
	fromFlag    source = "flag"
)

// rawValue is a setting's text before validation, with its origin.
type rawValue struct {
	value  string
	source source
	// where refines source: the file and line, the variable name or the flag.
	where string
}

// settingError names the setting, the value and what is wrong, in one line.
type settingError struct {
	name string
	raw  rawValue
	err  error
}

func (e *settingError) Error() string {
	where := string(e.raw.source)
	if e.raw.where != "" {
		where += " " + e.raw.where
	}
	return fmt.Sprintf("invalid %s %q (from %s): %v", e.name, e.raw.value, where, e.err)
}

func (e *settingError) Unwrap() error { return e.err }
