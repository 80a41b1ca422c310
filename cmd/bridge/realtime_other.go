//go:build !linux

package main

import (
	"fmt"
	"runtime"
)

// setRealtime is Linux's SCHED_RR for every thread; elsewhere the setting
// is refused rather than silently ignored.
func setRealtime(prio int) (int, error) {
	return 0, fmt.Errorf("SCHED_RR priority %d: real-time scheduling is only supported on Linux, not %s", prio, runtime.GOOS)
}
