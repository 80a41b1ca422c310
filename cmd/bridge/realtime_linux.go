package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setRealtime puts every thread of the process under SCHED_RR at prio, as
// `chrt -r` would at start, so the mixer's ticks preempt the machine's
// ordinary work at once instead of waiting out its time slice. The whole
// process, not the mixer's threads alone: a worker is woken by whichever
// runtime thread runs its timer, and that thread must be as prompt.
//
// Threads the runtime starts later are cloned from these and inherit the
// policy; one started while the list is walked is caught by the next pass,
// which is why it repeats until a pass changes nothing. It returns how many
// threads it found.
func setRealtime(prio int) (int, error) {
	want := unix.SchedAttr{Size: uint32(unsafe.Sizeof(unix.SchedAttr{})), Policy: unix.SCHED_RR, Priority: uint32(prio)}
	for range 10 {
		tids, err := threadIDs()
		if err != nil {
			return 0, err
		}
		changed := 0
		for _, tid := range tids {
			got, err := unix.SchedGetAttr(tid, 0)
			if errors.Is(err, unix.ESRCH) {
				continue // the thread ended since the list was read
			}
			if err != nil {
				return 0, fmt.Errorf("reading thread %d's scheduling: %w", tid, err)
			}
			if got.Policy == want.Policy && got.Priority == want.Priority {
				continue
			}
			attr := want
			err = unix.SchedSetAttr(tid, &attr, 0)
			if errors.Is(err, unix.EPERM) {
				return 0, fmt.Errorf("SCHED_RR priority %d: %w: it needs CAP_SYS_NICE (root, `setcap cap_sys_nice+ep` on the binary, or SYS_NICE in a container's capabilities) or an RLIMIT_RTPRIO of at least %d (ulimit -r, LimitRTPRIO= in systemd)", prio, err, prio)
			}
			if err != nil && !errors.Is(err, unix.ESRCH) {
				return 0, fmt.Errorf("SCHED_RR priority %d for thread %d: %w", prio, tid, err)
			}
			changed++
		}
		if changed == 0 {
			return len(tids), nil
		}
	}
	return 0, errors.New("threads kept starting while they were being set to SCHED_RR")
}

// threadIDs lists the process's threads.
func threadIDs() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("listing this process's threads: %w", err)
	}
	tids := make([]int, 0, len(entries))
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
