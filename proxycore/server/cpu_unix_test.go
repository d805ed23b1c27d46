//go:build unix

package server

import "syscall"

// processCPU is the user+system CPU time the process has used, in nanoseconds. Benchmarks report it per
// operation, which counts work done on background goroutines (spend flushes) too.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
