package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder notes the order in which steps happen across goroutines.
type recorder struct {
	mu    sync.Mutex
	steps []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.steps = append(r.steps, s); r.mu.Unlock() }
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.steps, ",")
}

// blockingService runs until its context ends, noting when it stopped.
func blockingService(rec *recorder, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		rec.add("stop " + name)
		return nil
	}
}

func TestLifecycleSignalRunsHooksBeforeStoppingServices(t *testing.T) {
	rec := &recorder{}
	lc := &lifecycle{log: slog.New(slog.DiscardHandler), grace: 5 * time.Second}
	lc.addService("sip", blockingService(rec, "sip"))
	lc.onShutdown("store flush", func(context.Context) error { rec.add("flush store"); return nil })
	lc.onShutdown("hang up", func(context.Context) error { rec.add("hang up calls"); return nil })

	ctx, stop := context.WithCancel(context.Background())
	stop()
	if err := lc.run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got, want := rec.String(), "hang up calls,flush store,stop sip"; got != want {
		t.Errorf("order = %s, want %s (hooks in reverse order, then services)", got, want)
	}
}

func TestLifecycleServiceFailureStopsTheRest(t *testing.T) {
	rec := &recorder{}
	lc := &lifecycle{log: slog.New(slog.DiscardHandler), grace: 5 * time.Second}
	boom := errors.New("listener closed")
	lc.addService("ops", func(context.Context) error { return boom })
	lc.addService("sip", blockingService(rec, "sip"))
	err := lc.run(context.Background())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "ops stopped unexpectedly") {
		t.Errorf("err = %v, want the failing service named and its error wrapped", err)
	}
	if rec.String() != "stop sip" {
		t.Errorf("steps = %q, want the other service stopped", rec.String())
	}
}

func TestLifecycleGraceIsABound(t *testing.T) {
	lc := &lifecycle{log: slog.New(slog.DiscardHandler), grace: 50 * time.Millisecond}
	stuck := make(chan struct{})
	defer close(stuck)
	lc.addService("stuck", func(context.Context) error { <-stuck; return nil })
	ctx, stop := context.WithCancel(context.Background())
	stop()
	err := lc.run(ctx)
	if err == nil || !strings.Contains(err.Error(), "shutdown took longer than") {
		t.Errorf("err = %v, want the grace period reported as exceeded", err)
	}
}
