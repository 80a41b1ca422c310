// Command bridge runs CUSAX Bridge: one room with two faces, a SIP audio
// conference and an XMPP chat room, kept in step (RFC 7081, section 4).
//
// It is the only place that knows every setting: it reads the configuration,
// builds each part with its own small Config, wires them together and runs
// them until SIGINT or SIGTERM, then shuts them down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	bsync "cusax.dev/bridge/sync"
)

// version is stamped at link time (-ldflags "-X main.version=…") by make build.
var version = "dev"

// Exit codes, documented in --help's neighbour, the README.
const (
	exitOK        = 0
	exitFailure   = 1 // the bridge started and then failed
	exitBadConfig = 2 // nothing was started
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// run is main with its world passed in, so tests can drive it.
func run(args []string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	cmd := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "version", "check-config", "help", "drain":
			cmd, args = args[0], args[1:]
		case "rooms", "room":
			return runRooms(args[0], args[1:], stdout, stderr, getenv)
		}
	}
	switch cmd {
	case "version":
		fmt.Fprintf(stdout, "bridge %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	case "help":
		writeUsage(stdout)
		return exitOK
	}

	load := loadConfig
	if cmd == "drain" {
		load = loadClientConfig
	}
	cfg, err := load(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "bridge: %v\n", err)
		return exitBadConfig
	}
	if cmd == "check-config" {
		printConfig(stdout, cfg)
		fmt.Fprintln(stdout, "configuration OK")
		return exitOK
	}

	if cmd == "drain" {
		return runDrain(cfg, stdout, stderr)
	}

	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("bridge stopped", "err", err)
		return exitFailure
	}
	return exitOK
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("node", cfg.NodeID)
}

// printConfig shows the effective configuration with secrets hidden.
func printConfig(w io.Writer, cfg Config) {
	for _, kv := range effectiveSettings(cfg) {
		fmt.Fprintf(w, "%s: %s\n", kv[0], kv[1])
	}
}

// effectiveSettings lists each setting's effective value, secrets redacted,
// for check-config and the start-up log.
func effectiveSettings(cfg Config) [][2]string {
	secret := ""
	if cfg.XMPPSecret != "" {
		secret = "(set)"
	}
	return [][2]string{
		{keySIPListen, cfg.SIPListen.String()},
		{keySIPDomain, cfg.SIPDomain},
		{keySIPTLSListen, addrOrEmpty(cfg.SIPTLSListen)},
		{keySIPCert, cfg.SIPCert},
		{keySIPKey, cfg.SIPKey},
		{keyRTPPorts, cfg.RTPPorts.String()},
		{keyRTPLegsPort, strconv.Itoa(cfg.RTPLegsPerPort)},
		{keyRTPAddress, cfg.RTPAddress.String()},
		{keyXMPPComponent, cfg.XMPPComponent},
		{keyXMPPDomain, cfg.XMPPDomain},
		{keyXMPPSecret, secret},
		{keyDirectory, directoryString(cfg.Directory)},
		{keyAnnounceDialIn, strconv.FormatBool(cfg.AnnounceDialIn)},
		{keyJoinTokenTTL, cfg.JoinTokenTTL.String()},
		{keyPromptsDir, cfg.PromptsDir},
		{keyPromptLanguage, cfg.PromptLanguage},
		{keyJoinTonesUpTo, strconv.Itoa(cfg.JoinTonesUpTo)},
		{keyHTTPListen, cfg.HTTPListen},
		{keyDataDir, cfg.DataDir},
		{keyRedisURL, redactURL(cfg.RedisURL)},
		{keyNodeID, cfg.NodeID},
		{keyLogFormat, cfg.LogFormat},
		{keyLogLevel, cfg.LogLevel.String()},
		{keyShutdownGrace, cfg.ShutdownTimeout.String()},
		{keySIPAdvertise, cfg.SIPAdvertise},
		{keySIPTLSAdvert, cfg.SIPTLSAdvertise},
		{keyRouteMode, routeMode(cfg.ProxyCalls)},
		{keyRoomLeaseTTL, cfg.RoomLeaseTTL.String()},
		{keyDrainTimeout, cfg.DrainTimeout.String()},
		{keyAdminTokenFile, cfg.AdminTokenFile},
		{keyMaxCalls, strconv.Itoa(cfg.MaxCalls)},
		{keyInviteRate, strconv.FormatFloat(cfg.InviteRate, 'g', -1, 64)},
		{keyInviteBurst, strconv.Itoa(cfg.InviteBurst)},
		{keyRealtimePrio, strconv.Itoa(cfg.RealtimePrio)},
	}
}

func routeMode(proxy bool) string {
	if proxy {
		return "proxy"
	}
	return "redirect"
}

func addrOrEmpty(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func directoryString(rules []bsync.DirectoryRule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.SIP + "=" + r.JID
	}
	return strings.Join(parts, ",")
}
