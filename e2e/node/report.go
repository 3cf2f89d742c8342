package main

import (
	"fmt"
	"io"
	"time"
)

// report prints each check as `PASS name (time)` or `FAIL name (time):
// why` as it ends, and counts them.
type report struct {
	w              io.Writer
	passed, failed int
}

// check runs f as the check name and prints its outcome; it returns f's
// error so the caller can stop what depends on it.
func (r *report) check(name string, f func() error) error {
	start := time.Now()
	err := f()
	d := time.Since(start).Round(10 * time.Millisecond)
	if err != nil {
		r.failed++
		fmt.Fprintf(r.w, "FAIL %s (%s): %v\n", name, d, err)
		return err
	}
	r.passed++
	fmt.Fprintf(r.w, "PASS %s (%s)\n", name, d)
	return nil
}

// note prints a line that is not a check.
func (r *report) note(format string, args ...any) {
	fmt.Fprintf(r.w, "     "+format+"\n", args...)
}

// summary is the closing line: "N passed, M failed".
func (r *report) summary() string {
	return fmt.Sprintf("%d passed, %d failed", r.passed, r.failed)
}
