package main

// What the bench reads of the controller's process from /proc, and where
// it finds the module.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the current folder: run from herald's tree")
		}
		dir = parent
	}
}

// procStatus reads one KiB figure of /proc/PID/status (field "VmRSS:",
// "VmHWM:").
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the controller's memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			if f := strings.Fields(line); len(f) >= 2 {
				return strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// cpuTime reads the process's CPU time so far (utime + stime).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the controller's CPU time: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: utime is field 14, stime 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	var ticks int64
	for _, v := range f[11:13] {
		t, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc/PID/stat: %w", err)
		}
		ticks += t
	}
	// USER_HZ is 100 on every Linux this runs on.
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

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
