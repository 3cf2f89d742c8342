package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a long-running process of the node (etcd, kube-apiserver,
// containerd, kubelet, ...), started in a network namespace with
// `nsenter --net` (not `ip netns exec`, whose private mount namespace and
// fresh /sys would hide the kubelet's mounts and the cgroup mounts from runc).
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  string
}

// startProc starts args in the network namespace netns (empty: the
// caller's), with markerEnv in its environment, in its own process group,
// its output to logDir/name.log.
func startProc(name, netns, logDir string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	defer f.Close()
	if netns != "" {
		args = append([]string{"nsenter", "--net=/run/netns/" + netns, "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(append(os.Environ(), markerEnv), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, strings.Join(args, " "), err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// alive returns nil while the process runs, else an error naming how it
// ended and where its log is.
func (p *proc) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); its log: %s", p.name, p.err, p.log)
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if p.alive() != nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// run runs a short command and returns its combined output; the error
// carries the output.
func run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), markerEnv)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// inNetns prefixes args to run in a named network namespace.
func inNetns(netns string, args ...string) []string {
	return append([]string{"nsenter", "--net=/run/netns/" + netns, "--"}, args...)
}

// markedPIDs lists the processes whose environment holds markerEnv: every
// process a run started, and the children (shims) that inherited it.
func markedPIDs() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(b), "\x00") {
			if kv == markerEnv {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// killPIDs sends SIGTERM to each pid, waits up to grace for them to go, then
// SIGKILLs the rest and waits for them (a SIGTERMed kube-apiserver has hung
// for over a minute on these machines).
func killPIDs(pids []int, grace time.Duration) error {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && len(living(pids)) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range living(pids) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(living(pids)) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	if l := living(pids); len(l) > 0 {
		return fmt.Errorf("processes %v survive SIGKILL", l)
	}
	return nil
}

// living returns the pids that still run (not zombies).
func living(pids []int) []int {
	var out []int
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 && s[i+2] == 'Z' {
			continue
		}
		out = append(out, pid)
	}
	return out
}

var errTimeout = errors.New("timed out")

// permanentError ends a poll at once: waiting longer cannot help.
type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

// permanent marks err as one that ends a poll at once.
func permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// poll calls f every interval until it returns nil, a permanent error, or
// ctx ends; on timeout the error wraps f's last error.
func poll(ctx context.Context, interval time.Duration, f func() error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || last == nil {
			last = err // not the one the deadline caused
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return perm.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", errTimeout, last)
		case <-t.C:
		}
	}
}
