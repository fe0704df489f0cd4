//go:build unix

package shadowserver

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, user and system; the
// benchmark reports rows per CPU second with it, which stays meaningful on
// a machine other work shares.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
