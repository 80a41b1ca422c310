package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// A service runs until its context ends. Serve returns nil on a clean stop.
type service struct {
	name  string
	serve func(ctx context.Context) error
}

// A shutdownHook is work a planned stop must do while the services still run:
// hang up calls, tell chat occupants the room is going, flush the store.
type shutdownHook struct {
	name string
	run  func(ctx context.Context) error
}

// lifecycle runs the services and, on a planned stop, the shutdown hooks.
type lifecycle struct {
	log      *slog.Logger
	grace    time.Duration
	services []service
	hooks    []shutdownHook
}

// addService registers a long-running part of the bridge.
func (l *lifecycle) addService(name string, serve func(ctx context.Context) error) {
	l.services = append(l.services, service{name: name, serve: serve})
}

// onShutdown registers work for a planned stop. Hooks run in the reverse
// order of registration, so what was built last is taken down first.
func (l *lifecycle) onShutdown(name string, run func(ctx context.Context) error) {
	l.hooks = append(l.hooks, shutdownHook{name: name, run: run})
}

// run starts every service and blocks until ctx ends (a signal) or a service
// fails. Then the shutdown hooks run and the services stop, all within the
// grace period; whatever is still running after it is abandoned.
func (l *lifecycle) run(ctx context.Context) error {
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()

	type result struct {
		name string
		err  error
	}
	done := make(chan result, len(l.services))
	for _, s := range l.services {
		go func() { done <- result{s.name, s.serve(runCtx)} }()
	}

	var failure error
	running := len(l.services)
	select {
	case <-ctx.Done():
		l.log.Info("shutting down", "grace", l.grace)
	case r := <-done:
		running--
		failure = fmt.Errorf("%s stopped unexpectedly: %w", r.name, errOrExited(r.err))
		l.log.Error("a service failed; shutting down the rest", "service", r.name, "err", r.err)
	}

	graceCtx, cancelGrace := context.WithTimeout(context.Background(), l.grace)
	defer cancelGrace()
	for i := len(l.hooks) - 1; i >= 0; i-- {
		h := l.hooks[i]
		start := time.Now()
		if err := h.run(graceCtx); err != nil {
			l.log.Warn("shutdown step failed", "step", h.name, "err", err)
			continue
		}
		l.log.Debug("shutdown step done", "step", h.name, "took", time.Since(start))
	}

	cancelRun()
	for running > 0 {
		select {
		case r := <-done:
			running--
			if r.err != nil && !errors.Is(r.err, context.Canceled) {
				l.log.Warn("service stopped with an error", "service", r.name, "err", r.err)
			}
		case <-graceCtx.Done():
			l.log.Error("grace period over; abandoning services still running", "running", running)
			return errors.Join(failure, fmt.Errorf("shutdown took longer than %s", l.grace))
		}
	}
	if failure == nil {
		l.log.Info("stopped cleanly")
	}
	return failure
}

func errOrExited(err error) error {
	if err == nil {
		return errors.New("it returned without error")
	}
	return err
}

// redactURL hides a password in a URL so it can be logged.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
