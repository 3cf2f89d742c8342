package l2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heraldlb/herald/e2e/lab"
)

// LANLink is the name of every lab host's LAN interface (lab.buildTopology).
const LANLink = "lan"

// NodeMACs maps the LAN MAC of each lab node to the node's name.
func NodeMACs(ctx context.Context, l *lab.Lab) (map[string]string, error) {
	m := map[string]string{}
	for _, n := range l.Plan().Nodes {
		out, err := l.Exec(ctx, n.Name, "cat", "/sys/class/net/"+LANLink+"/address")
		if err != nil {
			return nil, fmt.Errorf("reading %s's LAN MAC: %w", n.Name, err)
		}
		m[strings.TrimSpace(out)] = n.Name
	}
	return m, nil
}

// Speaker is a node's `herald speaker` process as the lab started it.
type Speaker struct {
	Node  string
	PID   int
	Netns string
	Args  []string
	Env   []string
	Log   string
}

// FindSpeaker returns the speaker process of node, with the environment
// it runs with so that Restart can start it again the same way.
func FindSpeaker(l *lab.Lab, node string) (Speaker, error) {
	p, ok := l.Procs()[lab.Speaker+"/"+node]
	if !ok {
		return Speaker{}, fmt.Errorf("the lab runs no speaker on %q", node)
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
	if err != nil {
		return Speaker{}, fmt.Errorf("speaker of %s (pid %d) does not run: %w", node, p.PID, err)
	}
	s := Speaker{Node: node, PID: p.PID, Netns: p.Netns, Args: p.Args, Log: p.Log}
	for _, kv := range strings.Split(string(env), "\x00") {
		if kv != "" {
			s.Env = append(s.Env, kv)
		}
	}
	return s, nil
}

// Signal sends sig to the speaker and, when wait, waits up to 20 seconds
// for it to end.
func (s *Speaker) Signal(sig syscall.Signal, wait bool) error {
	if err := syscall.Kill(s.PID, sig); err != nil {
		return fmt.Errorf("signalling the speaker of %s (pid %d): %w", s.Node, s.PID, err)
	}
	if !wait {
		return nil
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !s.alive() {
			return nil
		}
	}
	return fmt.Errorf("the speaker of %s (pid %d) still runs 20s after %v", s.Node, s.PID, sig)
}

// alive reports whether the process runs and is not a zombie.
func (s *Speaker) alive() bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.PID))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// Restart starts the speaker again with the command line and environment
// it ran with (the lab's HERALD_LAB_DIR included, so that lab.Down ends it),
// appending to its log. The lab's state keeps the old pid.
func (s *Speaker) Restart() error {
	if s.alive() {
		return fmt.Errorf("restarting the speaker of %s: pid %d still runs: signal it first", s.Node, s.PID)
	}
	logf, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("restarting the speaker of %s: %w", s.Node, err)
	}
	defer logf.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", s.Netns}, s.Args...)...)
	cmd.Env = s.Env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restarting the speaker of %s: %w", s.Node, err)
	}
	go func() { _ = cmd.Wait() }()
	s.PID = cmd.Process.Pid
	return nil
}

// inNetns runs f on a thread inside the network namespace of lab name;
// sockets f opens stay in that namespace.
func inNetns(l *lab.Lab, name string, f func() error) error {
	ns, err := l.Plan().Netns(name)
	if err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Not unlocked when going back fails: the thread ends with the
		// goroutine instead of serving others in the wrong namespace.
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/var/run/netns", ns))
		if err != nil {
			ch <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("entering network namespace %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- errors.Join(ferr, fmt.Errorf("leaving network namespace %s: %w", ns, err))
			return
		}
		runtime.UnlockOSThread()
		ch <- ferr
	}()
	return <-ch
}
