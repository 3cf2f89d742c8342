//go:build unix

package ipam

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user+system) the test process has used,
// so benchmarks can report CPU cost per operation, which a machine shared
// with other work disturbs less than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
