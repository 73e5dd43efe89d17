package main

import (
	"log/slog"
	"sync"
	"syscall"
)

var niceFailed sync.Once

// niceThread sets the calling OS thread's niceness. On Linux the nice value is a thread's, not the
// process's (setpriority(2) with a thread ID), so the urgent lane's threads keep the worker's.
// If it cannot, the work runs at the worker's niceness, which is only slower for others.
func niceThread(niceness int) {
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), niceness); err != nil {
		niceFailed.Do(func() { slog.Warn("bulk audits run un-niced", "niceness", niceness, "err", err) })
	}
}
