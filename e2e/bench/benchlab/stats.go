package benchlab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Poll calls f every 100 ms until it returns true or an error, or timeout.
func Poll(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := f()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Pct returns the p-th percentile of d (nearest rank); d must not be empty.
func Pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}

// MS prints d in whole milliseconds ("42ms").
func MS(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond)) }

// List prints each of d with MS, separated by spaces.
func List(d []time.Duration) string {
	var s []string
	for _, x := range d {
		s = append(s, MS(x))
	}
	return strings.Join(s, " ")
}
