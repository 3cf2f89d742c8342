package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestNonLeaderRunnableRetries: a start-up step that fails (the API server
// away) is tried again rather than ending the manager, and stops when the
// manager does.
func TestNonLeaderRunnableRetries(t *testing.T) {
	calls := 0
	r := nonLeaderRunnable(func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("connection refused")
		}
		return nil
	})
	if err := r.Start(context.Background()); err != nil || calls != 3 {
		t.Fatalf("Start = %v after %d calls, want nil after 3", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- nonLeaderRunnable(func(context.Context) error { return errors.New("connection refused") }).Start(ctx)
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start after the manager stopped = %v, want nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Start did not return once its context ended")
	}
}
