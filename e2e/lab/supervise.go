package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Backoff is how a supervisor waits before restarting a process that
// exited, as the kubelet does for a container with restartPolicy Always
// (CrashLoopBackOff): Initial after the first exit, doubling up to Max,
// back to Initial once the process had run ResetAfter.
type Backoff struct {
	Initial, Max, ResetAfter time.Duration
}

// KubeletBackoff is the kubelet's: 10 s, 20 s, 40 s, ... up to 5 minutes,
// reset after 10 minutes of running.
var KubeletBackoff = Backoff{Initial: 10 * time.Second, Max: 5 * time.Minute, ResetAfter: 10 * time.Minute}

// Next returns the wait before the next start, given the last wait (0
// before any restart) and how long the process ran this time.
func (b Backoff) Next(last, ran time.Duration) time.Duration {
	if last == 0 || ran >= b.ResetAfter {
		return b.Initial
	}
	return min(2*last, b.Max)
}

// SupervisorStatus is what a supervisor writes to its status file after
// each start and exit of its process; `herald lab status` prints it.
type SupervisorStatus struct {
	// PID is the supervised process's, 0 while it waits to restart.
	PID int `json:"pid"`
	// Restarts counts the starts after the first.
	Restarts int `json:"restarts"`
	// Started is the last start; LastExit how the process last ended and
	// when (empty before any exit).
	Started  time.Time `json:"started"`
	LastExit string    `json:"lastExit,omitempty"`
	ExitedAt time.Time `json:"exitedAt,omitzero"`
	// NextStart is when a process that exited starts again (zero while it
	// runs).
	NextStart time.Time `json:"nextStart,omitzero"`
}

// Supervise runs args and starts it again each time it exits, after
// b's backoff, until ctx is cancelled (SIGTERM or SIGINT to the
// supervisor): then it passes SIGTERM on to the process, waits for it and
// returns. The process gets SIGKILL if the supervisor dies (a SIGKILL to
// it, `herald lab down` after a grace). status, when not empty, is the
// file SupervisorStatus is written to; log receives one line per start
// and exit.
func Supervise(ctx context.Context, args []string, b Backoff, status string, log io.Writer) error {
	if len(args) == 0 {
		return errors.New("supervise: no command to run")
	}
	// Pdeathsig is tied to the thread that started the child.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st SupervisorStatus
	var wait time.Duration
	for first := true; ; first = false {
		if !first {
			st.Restarts++
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("supervise: starting %s: %w", args[0], err)
		}
		st.PID, st.Started, st.NextStart = cmd.Process.Pid, time.Now(), time.Time{}
		writeSupervisorStatus(status, st)
		fmt.Fprintf(log, "%s supervisor: started %s (pid %d, restart %d)\n", time.Now().Format(time.RFC3339), filepath.Base(args[0]), st.PID, st.Restarts)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done
			st.PID, st.LastExit, st.ExitedAt = 0, "stopped by the supervisor", time.Now()
			writeSupervisorStatus(status, st)
			return nil
		}
		ran := time.Since(st.Started)
		wait = b.Next(wait, ran)
		st.PID, st.LastExit, st.ExitedAt, st.NextStart = 0, exitText(err), time.Now(), time.Now().Add(wait)
		writeSupervisorStatus(status, st)
		fmt.Fprintf(log, "%s supervisor: %s %s after %s; restarting in %s\n", time.Now().Format(time.RFC3339), filepath.Base(args[0]), st.LastExit, ran.Round(time.Millisecond), wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
		return fmt.Sprintf("exited with status %d", ee.ExitCode())
	}
	if err != nil {
		return err.Error()
	}
	return "exited with status 0"
}

// writeSupervisorStatus writes st to path atomically (nothing when path is
// empty; a failed write only loses what status shows).
func writeSupervisorStatus(path string, st SupervisorStatus) {
	if path == "" {
		return
	}
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	tmp := path + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		_ = os.Rename(tmp, path)
	}
}

// ReadSupervisorStatus reads a supervisor's status file.
func ReadSupervisorStatus(path string) (SupervisorStatus, error) {
	var st SupervisorStatus
	b, err := os.ReadFile(path)
	if err != nil {
		return st, fmt.Errorf("reading supervisor status: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("decoding supervisor status %s: %w", path, err)
	}
	return st, nil
}

// supervisorStatusPath is where the supervisor of component name writes
// its status in the lab folder dir.
func supervisorStatusPath(dir, name string) string {
	return filepath.Join(dir, "supervise", strings.ReplaceAll(name, "/", "-")+".json")
}

// supervised wraps a component's command line in `herald lab supervise`,
// so that it is restarted like a pod's container when it dies.
func supervised(bin, dir, name string, args []string) []string {
	out := []string{bin, "lab", "supervise", "--status=" + supervisorStatusPath(dir, name), "--"}
	return append(out, args...)
}

// isSupervisor reports whether p is a component run under `herald lab
// supervise`.
func isSupervisor(p Proc) bool {
	return len(p.Args) > 3 && p.Args[1] == "lab" && p.Args[2] == "supervise" && slices.Contains(p.Args, "--")
}

// Supervisor returns what the supervisor of component name (lab.Speaker +
// "/node1", lab.Controller, ...) last wrote: the component's own pid, its
// restarts and last exit.
func (l *Lab) Supervisor(name string) (SupervisorStatus, error) {
	p, ok := l.Procs()[name]
	if !ok || !isSupervisor(p) {
		return SupervisorStatus{}, fmt.Errorf("the lab runs no supervised %s", name)
	}
	return ReadSupervisorStatus(supervisorStatusPath(l.opts.Dir, name))
}
