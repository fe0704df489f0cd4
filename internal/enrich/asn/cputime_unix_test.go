//go:build unix

package asn

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used so far. Benchmarks
// report it per operation next to the wall-clock ns/op, which on a shared,
// busy machine counts the time spent waiting for a core.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
