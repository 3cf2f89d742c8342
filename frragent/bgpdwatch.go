package frragent

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/heraldlb/herald/frragent/vty"
)

// redialInterval is how often watchBGPD tries bgpd's socket while bgpd is
// down (watchfrr restarts it at its first status poll after the crash:
// within 5 s by default), and how often it looks whether watchfrr's
// restart job has ended.
const redialInterval = 100 * time.Millisecond

// restartJobTimeout bounds the wait for watchfrr's restart job (which
// loads the instance's frr.conf into the restarted daemon) after bgpd
// answers again.
const restartJobTimeout = 30 * time.Second

// watchBGPD sends on back each time bgpd answers on its vty socket in dir
// again after its connection closed (bgpd died: the kernel closes a dead
// process's sockets at once), until ctx is cancelled. It holds one idle
// connection to bgpd.vty open: bgpd sends nothing on a vtysh connection
// until it gets a command, so the read returns only when bgpd goes away —
// how watchfrr itself notices a dead daemon at once. Before sending it
// waits (bounded) for watchfrr's restart job to end: that job loads the
// instance's frr.conf into the new bgpd (`vtysh -b`), and the agent must
// not take a bgpd half-way through it for one that lost its config.
func watchBGPD(ctx context.Context, dir string, back chan<- struct{}) {
	path := vty.SocketPath(dir, "bgpd")
	tick := time.NewTicker(redialInterval)
	defer tick.Stop()
	connected := false
	for {
		var d net.Dialer
		if c, err := d.DialContext(ctx, "unix", path); err == nil {
			if connected {
				waitRestartJob(ctx, dir, tick.C)
				select {
				case back <- struct{}{}:
				default: // a check is pending already
				}
			}
			connected = true
			stop := context.AfterFunc(ctx, func() { c.Close() })
			_, _ = c.Read(make([]byte, 1)) // returns when bgpd goes away
			stop()
			c.Close()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// waitRestartJob waits, at most restartJobTimeout, until the watchfrr of
// the instance whose sockets are in dir runs no child process (its
// restart and start jobs). Without watchfrr's pid file, or /proc's
// children lists, it returns at once.
func waitRestartJob(ctx context.Context, dir string, tick <-chan time.Time) {
	b, err := os.ReadFile(filepath.Join(dir, "watchfrr.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return
	}
	deadline := time.Now().Add(restartJobTimeout)
	for hasChildren(pid) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// hasChildren reports whether process pid has a child process, from
// /proc/PID/task/*/children.
func hasChildren(pid int) bool {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	for _, t := range tasks {
		if b, err := os.ReadFile(t); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return true
		}
	}
	return false
}
