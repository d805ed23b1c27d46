//go:build linux

package server

import "golang.org/x/sys/unix"

// selfCPU is the CPU time every thread of this process has used, in nanoseconds, so that benchmarks can
// report CPU per request including the server's own goroutines. It reads CLOCK_PROCESS_CPUTIME_ID, the
// scheduler's exact runtime, rather than getrusage, whose user and system parts are scaled from tick
// samples and whose sum can stand still for milliseconds and then catch up.
func selfCPU() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return ts.Nano()
}
