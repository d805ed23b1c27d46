//go:build unix && !linux

package server

import "syscall"

// selfCPU is the user+system CPU time this process has used, in nanoseconds, so that benchmarks can report
// CPU per request including the server's own goroutines.
func selfCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
