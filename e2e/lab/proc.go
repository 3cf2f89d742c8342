package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startProc starts a long-running process of the lab in its own session
// (so it outlives the caller and a terminal's signals), in network
// namespace netns when set, with its output appended to logPath. A
// goroutine reaps it if it exits while the caller lives.
func startProc(name, netns string, env []string, logPath string, args ...string) (Proc, error) {
	// Logs are root's alone: a process may quote config or secrets in a
	// crash; herald's components redact passwords, other tools may not.
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return Proc{}, fmt.Errorf("starting %s: %w", name, err)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return Proc{}, fmt.Errorf("starting %s: %w", name, err)
	}
	defer logFile.Close()
	argv := args
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, args...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Proc{}, fmt.Errorf("starting %s (%s): %w", name, strings.Join(argv, " "), err)
	}
	go func() { _ = cmd.Wait() }()
	return Proc{Name: name, PID: cmd.Process.Pid, Netns: netns, Args: args, Log: logPath}, nil
}

// procAlive reports whether p still runs the program it was started with
// (the pid was not reused).
func procAlive(p Proc) bool {
	if p.PID <= 0 || len(p.Args) == 0 {
		return false
	}
	if zombie(p.PID) {
		return false
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.PID), "cmdline"))
	if err != nil {
		return false
	}
	if len(cmdline) == 0 {
		// Just after exec the kernel has not set the new command line up
		// yet; the process is there and not a zombie.
		return true
	}
	// The program itself, the script an interpreter runs ("/bin/sh
	// script ..."), or "ip netns exec NS program ..." just before ip execs it.
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	want := filepath.Base(p.Args[0])
	for _, a := range args[:min(len(args), 5)] {
		if filepath.Base(a) == want {
			return true
		}
	}
	return false
}

func zombie(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && len(stat) > i+2 && (stat[i+2] == 'Z' || stat[i+2] == 'X')
}

// pidsWithEnv returns the live processes, other than this one, whose
// environment holds the variable kv ("NAME=value").
func pidsWithEnv(kv string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || zombie(pid) {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, v := range bytes.Split(env, []byte{0}) {
			if string(v) == kv {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// runningWith returns a live process of the lab (environment marker kv)
// whose command line is exactly args, or 0.
func runningWith(kv string, args []string) int {
	for _, pid := range pidsWithEnv(kv) {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		if slices.Equal(strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"), args) {
			return pid
		}
	}
	return 0
}

// killAll sends SIGTERM to every pid that pids returns, waits up to grace
// for them to end, then SIGKILLs what is left; pids is called again each
// round, so processes it finds later are ended too. It never signals this
// process: `ip netns pids` lists a process by its main thread's namespace,
// and a goroutine of this one inside a lab namespace (inNetns, on the main
// thread) made a test tear down the lab and SIGTERM itself (CI: e2e/bgp
// "signal: terminated").
func killAll(ctx context.Context, grace time.Duration, pids func() []int) error {
	deadline := time.Now().Add(grace)
	termed := map[int]bool{} // one SIGTERM each: a second one may skip a clean exit
	killing := false
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	self := os.Getpid()
	for {
		live := slices.DeleteFunc(pids(), func(pid int) bool { return pid == self })
		if len(live) == 0 {
			return nil
		}
		if !killing && (time.Now().After(deadline) || ctx.Err() != nil) {
			killing = true
			deadline = time.Now().Add(2 * time.Second)
		} else if killing && time.Now().After(deadline) {
			return fmt.Errorf("processes %v survive SIGKILL", live)
		}
		for _, pid := range live {
			switch {
			case killing:
				_ = syscall.Kill(pid, syscall.SIGKILL)
			case !termed[pid]:
				termed[pid] = true
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		<-tick.C
	}
}

// livePIDs keeps the pids that are running and not zombies.
func livePIDs(pids []int) []int {
	var live []int
	for _, pid := range pids {
		if pid > 0 && !zombie(pid) {
			live = append(live, pid)
		}
	}
	return live
}
