package lab

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackoffNext(t *testing.T) {
	b := KubeletBackoff
	tests := []struct {
		name      string
		last, ran time.Duration
		want      time.Duration
	}{
		{name: "first exit", last: 0, ran: time.Second, want: 10 * time.Second},
		{name: "second crash doubles", last: 10 * time.Second, ran: time.Second, want: 20 * time.Second},
		{name: "doubles again", last: 20 * time.Second, ran: time.Minute, want: 40 * time.Second},
		{name: "capped at 5 minutes", last: 160 * time.Second, ran: time.Second, want: 5 * time.Minute},
		{name: "stays capped", last: 5 * time.Minute, ran: 9 * time.Minute, want: 5 * time.Minute},
		{name: "reset after 10 minutes of running", last: 5 * time.Minute, ran: 10 * time.Minute, want: 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := b.Next(tc.last, tc.ran); got != tc.want {
				t.Errorf("Next(%v, %v) = %v, want %v", tc.last, tc.ran, got, tc.want)
			}
		})
	}
}

// TestSupervise supervises a process that dies at once, then one that
// runs: the first is restarted each time (counted in the status file), the
// second is stopped with SIGTERM when the supervisor's context ends, and
// never restarted after.
func TestSupervise(t *testing.T) {
	dir := t.TempDir()
	status := filepath.Join(dir, "status.json")
	b := Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, ResetAfter: time.Hour}

	// A process that exits with status 3 at once: restarted until the
	// status file counts 3 restarts.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Supervise(ctx, []string{"sh", "-c", "exit 3"}, b, status, io.Discard) }()
	deadline := time.Now().Add(30 * time.Second)
	var st SupervisorStatus
	for {
		var err error
		st, err = ReadSupervisorStatus(status)
		if err == nil && st.Restarts >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the supervisor reports %+v (err %v), want 3 restarts", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st.LastExit != "exited with status 3" {
		t.Errorf("LastExit = %q, want \"exited with status 3\"", st.LastExit)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A process that runs until SIGTERM, writing a mark when it gets it.
	mark, ready := filepath.Join(dir, "termed"), filepath.Join(dir, "ready")
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		done <- Supervise(ctx, []string{"sh", "-c", "trap 'touch " + mark + "; exit 0' TERM; touch " + ready + "; while :; do sleep 0.05; done"}, b, status, io.Discard)
	}()
	for {
		st, err := ReadSupervisorStatus(status)
		if _, rerr := os.Stat(ready); rerr == nil && err == nil && st.PID > 0 && st.Restarts == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second process does not run: %+v, %v", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("the supervised process did not get SIGTERM when the supervisor stopped: %v", err)
	}
	st, err := ReadSupervisorStatus(status)
	if err != nil || st.PID != 0 || st.Restarts != 0 || !strings.Contains(st.LastExit, "stopped") {
		t.Errorf("after the stop the status is %+v (err %v), want no pid, no restart, stopped", st, err)
	}
}

// TestKillAllSparesItself: the pids a teardown gathers may include this
// process (a goroutine of it inside a lab namespace on the main thread);
// killAll ends the others and never signals itself.
func TestKillAllSparesItself(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pids := func() []int { return livePIDs([]int{os.Getpid(), cmd.Process.Pid}) }
	if err := killAll(context.Background(), 5*time.Second, pids); err != nil {
		t.Fatalf("killAll: %v", err)
	}
	if got := livePIDs([]int{cmd.Process.Pid}); len(got) != 0 {
		t.Errorf("the other process %d survived", cmd.Process.Pid)
	}
}
