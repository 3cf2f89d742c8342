package frragent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
)

// ProcStat is what ReapOrphans reads of one process in /proc/PID/stat.
type ProcStat struct {
	PID, PPID int
	// State is the state letter: Z for a zombie.
	State byte
}

// ParseProcStat reads /proc/PID/stat's pid, state and parent (the command
// name, in parentheses, may hold spaces and parentheses itself).
func ParseProcStat(line string) (ProcStat, bool) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return ProcStat{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return ProcStat{}, false
	}
	f := strings.Fields(line[end+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return ProcStat{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return ProcStat{}, false
	}
	return ProcStat{PID: pid, PPID: ppid, State: f[0][0]}, true
}

// zombieScans is how many scans in a row a zombie must be seen before it
// is reaped.
const zombieScans = 3

// OrphanZombies returns the zombies whose parent is self and that were
// zombies at the last zombieScans-1 scans too (prev counts the scans each
// was seen in): those are orphans reparented to the agent, not the
// agent's own commands, which os/exec reaps as soon as their output is
// read.
func OrphanZombies(procs []ProcStat, self int, prev map[int]int) (reap []int, now map[int]int) {
	now = map[int]int{}
	for _, p := range procs {
		if p.PPID != self || p.State != 'Z' {
			continue
		}
		now[p.PID] = prev[p.PID] + 1
		if now[p.PID] >= zombieScans {
			reap = append(reap, p.PID)
		}
	}
	return reap, now
}

// ReapOrphans reaps, every interval until ctx ends, the zombie orphans of
// a container whose PID 1 is the agent (herald-frr-start execs it): FRR's
// daemons daemonize, so a daemon that dies is the agent's child, and left
// a zombie its pid still looks alive to a liveness check.
func ReapOrphans(ctx context.Context, interval time.Duration, log logr.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	self := os.Getpid()
	prev := map[int]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var reap []int
		reap, prev = OrphanZombies(readProcs(), self, prev)
		for _, pid := range reap {
			var ws syscall.WaitStatus
			if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err == nil && got == pid {
				log.Info("reaped an orphaned process", "pid", pid, "status", ws.ExitStatus())
			}
			delete(prev, pid)
		}
	}
}

func readProcs() []ProcStat {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	out := make([]ProcStat, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if st, ok := ParseProcStat(string(b)); ok {
			out = append(out, st)
		}
	}
	return out
}
