package main

// settle: waiting for the controller to go idle between trials (what the
// bench reads of its process is in e2e/bench/benchproc).

import (
	"time"
)

// settle waits until the process whose CPU time cpu reads is idle — less
// than 10 ms in a 200 ms window — or 30 s have passed.
func settle(cpu func() time.Duration) {
	const window, idle = 200 * time.Millisecond, 10 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	used := cpu()
	for time.Now().Before(deadline) {
		time.Sleep(window)
		c := cpu()
		if c-used < idle {
			return
		}
		used = c
	}
}
