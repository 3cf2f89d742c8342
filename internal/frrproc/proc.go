package frrproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cleanup ends every process of pathspace name (watchfrr, the daemons and
// their helper scripts: SIGTERM, then SIGKILL after 5 seconds) and removes
// /etc/frr/<name> and /var/run/frr/<name>. It finds the processes by their
// command line (`-N name`) and environment (FRR_PATHSPACE=name), so it also
// removes what a crashed process left behind.
func Cleanup(ctx context.Context, name string) error {
	if err := validateName(name); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	sig := syscall.SIGTERM
	for {
		pids := pathspacePIDs(name)
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			sig = syscall.SIGKILL
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
		if sig == syscall.SIGKILL {
			time.Sleep(100 * time.Millisecond)
			if left := pathspacePIDs(name); len(left) > 0 {
				return fmt.Errorf("frrproc: pathspace %q: processes %v survive SIGKILL", name, left)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var errs []error
	for _, dir := range []string{ConfDir(name), RunDir(name)} {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("frrproc: removing %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// pathspacePIDs returns the live processes belonging to pathspace name: an
// FRR binary run with `-N name` (or --pathspace name), or a process whose
// environment has FRR_PATHSPACE=name (watchfrr's helper scripts).
func pathspacePIDs(name string) []int {
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
		if ownedBy(pid, name) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func ownedBy(pid int, name string) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	if stat, err := os.ReadFile(filepath.Join(dir, "stat")); err == nil {
		// a zombie has no command line but is no longer running either
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return false
		}
	}
	if cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) > 0 && strings.HasPrefix(filepath.Base(args[0]), "vtysh") {
			// a vtysh client is not part of the instance
		} else {
			for j := 0; j+1 < len(args); j++ {
				if (args[j] == "-N" || args[j] == "--pathspace") && args[j+1] == name {
					return true
				}
			}
		}
	}
	env, err := os.ReadFile(filepath.Join(dir, "environ"))
	if err != nil {
		return false
	}
	for _, kv := range bytes.Split(env, []byte{0}) {
		if string(kv) == "FRR_PATHSPACE="+name {
			return true
		}
	}
	return false
}

// childPIDs returns the children of pid.
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var kids []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(f); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	return pid, nil
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return !(i > 0 && len(stat) > i+2 && stat[i+2] == 'Z')
}
