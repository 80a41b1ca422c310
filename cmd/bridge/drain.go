package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// runDrain is `bridge drain`: it asks the node running with the same
// configuration, through its ops endpoint, to stop taking new calls and
// waits until its calls have ended or --drain-timeout passed. Kubernetes
// runs it as the pod's preStop hook, before SIGTERM.
func runDrain(cfg Config, stdout, stderr io.Writer) int {
	url := "http://" + localAddr(cfg.HTTPListen) + "/drain"
	ctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "bridge drain: %v\n", err)
		return exitFailure
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "bridge drain: asking the node at %s: %v\n", url, err)
		return exitFailure
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "bridge drain: %s answered %s: %s\n", url, resp.Status, strings.TrimSpace(string(body)))
		return exitFailure
	}
	fmt.Fprint(stdout, string(body))
	return exitOK
}

// localAddr turns a listen address into one to connect to: a server on all
// interfaces is reached on loopback.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		if ip.Is6() {
			return net.JoinHostPort("::1", port)
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return listen
}
