package frrproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Options says which FRR instance to start.
type Options struct {
	// Name is the FRR pathspace (`-N name`): letters, digits, '-' and '_'.
	// It must be unique on the machine while the instance runs.
	Name string
	// Netns is the named network namespace (as made by `ip netns add`) the
	// daemons run in; empty runs them in the caller's namespace.
	Netns string
	// Daemons lists the daemons to run; empty means DefaultDaemons().
	// zebra and staticd always run.
	Daemons []string
	// Config is the initial frr.conf; empty means a minimal config naming
	// the host after Name and logging to RunDir(Name)/frr.log.
	Config string
	// BinDir holds the daemons and watchfrr; empty means /usr/lib/frr.
	BinDir string
	// Vtysh is the vtysh binary; empty means "vtysh" from PATH.
	Vtysh string
	// StartTimeout bounds how long Start waits for the daemons to answer;
	// zero means 30 seconds.
	StartTimeout time.Duration
	// Log receives progress messages; the zero logger discards them.
	Log logr.Logger
}

// Instance is a running FRR instance. Its methods are safe for concurrent use.
type Instance struct {
	name    string
	netns   string
	daemons []string
	binDir  string
	vtysh   string
	log     logr.Logger

	watchfrr *exec.Cmd
	waitDone chan struct{}
	waitErr  error

	stopOnce sync.Once
	stopErr  error
}

// Start writes the pathspace's files, starts watchfrr (which starts the
// daemons and loads frr.conf) in the namespace, and returns once every
// daemon answers and the initial config is loaded. On error nothing is left
// behind. Start refuses a pathspace that already has processes or files: run
// Cleanup(name) first to remove what a dead process left.
func Start(ctx context.Context, opts Options) (*Instance, error) {
	if err := validateName(opts.Name); err != nil {
		return nil, err
	}
	daemons := opts.Daemons
	if len(daemons) == 0 {
		daemons = DefaultDaemons()
	}
	for _, d := range daemons {
		if !knownDaemons[d] {
			return nil, fmt.Errorf("frrproc: Options.Daemons has unknown daemon %q: use names of /usr/lib/frr daemons such as zebra, bgpd, bfdd, staticd", d)
		}
	}
	for _, d := range []string{"staticd", "zebra"} {
		if !slices.Contains(daemons, d) {
			daemons = append([]string{d}, daemons...)
		}
	}
	slices.SortStableFunc(daemons, func(a, b string) int { // zebra first
		switch {
		case a == b:
			return 0
		case a == "zebra":
			return -1
		case b == "zebra":
			return 1
		}
		return 0
	})
	inst := &Instance{
		name:     opts.Name,
		netns:    opts.Netns,
		daemons:  daemons,
		binDir:   opts.BinDir,
		vtysh:    opts.Vtysh,
		log:      opts.Log.WithValues("pathspace", opts.Name),
		waitDone: make(chan struct{}),
	}
	if inst.binDir == "" {
		inst.binDir = "/usr/lib/frr"
	}
	if inst.vtysh == "" {
		inst.vtysh = "vtysh"
	}
	if opts.Netns != "" {
		if _, err := os.Stat(filepath.Join("/var/run/netns", opts.Netns)); err != nil {
			return nil, fmt.Errorf("frrproc: Options.Netns %q: no such network namespace (create it with `ip netns add`): %w", opts.Netns, err)
		}
	}
	if pids := pathspacePIDs(opts.Name); len(pids) > 0 {
		return nil, fmt.Errorf("frrproc: pathspace %q already has FRR processes %v: stop that instance or call frrproc.Cleanup", opts.Name, pids)
	}
	for _, dir := range []string{ConfDir(opts.Name), RunDir(opts.Name)} {
		if _, err := os.Stat(dir); err == nil {
			return nil, fmt.Errorf("frrproc: pathspace %q: %s already exists: stop that instance or call frrproc.Cleanup", opts.Name, dir)
		}
	}
	config := opts.Config
	if config == "" {
		config = defaultConfig(opts.Name)
	}
	if err := inst.writeFiles(config); err != nil {
		return nil, errors.Join(err, Cleanup(ctx, opts.Name))
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	startCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := inst.start(startCtx); err != nil {
		stopErr := inst.Stop(context.WithoutCancel(ctx))
		return nil, errors.Join(fmt.Errorf("frrproc: starting pathspace %q: %w", opts.Name, err), stopErr)
	}
	inst.log.V(1).Info("FRR instance up", "netns", opts.Netns, "daemons", daemons)
	return inst, nil
}

func (i *Instance) writeFiles(config string) error {
	uid, gid, err := frrIDs()
	if err != nil {
		return err
	}
	for _, dir := range []string{ConfDir(i.name), RunDir(i.name)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("frrproc: creating %s: %w", dir, err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("frrproc: chown %s to frr: %w", dir, err)
		}
	}
	files := []struct {
		name, text string
		mode       os.FileMode
	}{
		{"daemons", daemonsFile(i.name, i.daemons), 0o600},
		{"vtysh.conf", vtyshConf, 0o600},
		{"frr.conf", config, 0o600},
	}
	for _, f := range files {
		p := filepath.Join(ConfDir(i.name), f.name)
		if err := os.WriteFile(p, []byte(f.text), f.mode); err != nil {
			return fmt.Errorf("frrproc: writing %s: %w", p, err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("frrproc: chown %s to frr: %w", p, err)
		}
	}
	return nil
}

// frrIDs returns the uid and gid of the frr user the daemons run as.
func frrIDs() (int, int, error) {
	u, err := user.Lookup("frr")
	if err != nil {
		return 0, 0, fmt.Errorf("frrproc: looking up the frr user (install Debian's frr package): %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, fmt.Errorf("frrproc: frr uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return 0, 0, fmt.Errorf("frrproc: frr gid %q: %w", u.Gid, err)
	}
	return uid, gid, nil
}

func (i *Instance) start(ctx context.Context) error {
	logPath := filepath.Join(RunDir(i.name), "watchfrr.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s: %w", logPath, err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	args := []string{
		filepath.Join(i.binDir, "watchfrr"), "-N", i.name,
		"--min-restart-interval", "1", "--max-restart-interval", "10",
		// Not --interval 1, though watchfrr restarts a dead daemon only at
		// its first status poll after the crash (every 5 s, most of the
		// time a killed bgpd's routes stay away): at start-up FRR 8.4's
		// watchfrr then takes daemons still starting on a loaded machine
		// for dead and restarts them over and over (seen in the frrconfig
		// tests: starts not done after 30 s).
		// Loading a large frr.conf (tens of thousands of prefix-list
		// lines) takes minutes: watchfrr's defaults would kill the start-up
		// script after 20 s, leaving a partial config, and restart daemons
		// busy for 90 s.
		"--restart-timeout", "900", "--timeout", "300",
	}
	args = append(args, i.daemons...)
	if i.netns != "" {
		args = append([]string{"ip", "netns", "exec", i.netns}, args...)
	}
	// Not exec.CommandContext: the instance outlives ctx, Stop ends it.
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), "FRR_PATHSPACE="+i.name)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", strings.Join(args, " "), err)
	}
	i.watchfrr = cmd
	go func() {
		i.waitErr = cmd.Wait()
		close(i.waitDone)
	}()
	return i.waitReady(ctx)
}

// waitReady waits until every daemon accepts a connection on its vty
// socket, watchfrr's start-up script (which runs `vtysh -b`) has ended, and
// vtysh answers.
func (i *Instance) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the daemons (last: %v; see %s): %w", last, RunDir(i.name), ctx.Err())
		case <-i.waitDone:
			return fmt.Errorf("watchfrr exited: %v (see %s)", i.waitErr, filepath.Join(RunDir(i.name), "watchfrr.log"))
		case <-tick.C:
		}
		if last = i.daemonsAnswer(); last != nil {
			continue
		}
		if n := len(childPIDs(i.watchfrr.Process.Pid)); n > 0 {
			last = fmt.Errorf("watchfrr's start-up script still running")
			continue
		}
		if _, err := i.Vtysh(ctx, "-c", "show version"); err != nil {
			last = err
			continue
		}
		return nil
	}
}

// daemonsAnswer returns nil when every daemon accepts a connection on its
// vty socket.
func (i *Instance) daemonsAnswer() error {
	for _, d := range i.daemons {
		p := filepath.Join(RunDir(i.name), d+".vty")
		c, err := net.DialTimeout("unix", p, time.Second)
		if err != nil {
			return fmt.Errorf("%s not answering: %w", d, err)
		}
		c.Close()
	}
	return nil
}

// Name returns the instance's FRR pathspace.
func (i *Instance) Name() string { return i.name }

// Netns returns the network namespace the daemons run in ("" for the
// caller's).
func (i *Instance) Netns() string { return i.netns }

// ConfigPath returns /etc/frr/<name>/frr.conf, the file watchfrr loads into
// a daemon it (re)starts.
func (i *Instance) ConfigPath() string { return filepath.Join(ConfDir(i.name), "frr.conf") }

// LogPath returns the daemons' log file (when the config logs to it, as the
// default config does).
func (i *Instance) LogPath() string { return filepath.Join(RunDir(i.name), "frr.log") }

// VtyshCommand returns the command line that runs vtysh on this instance
// (vtysh talks to unix sockets, so it needs no namespace): append -c, -f or
// other vtysh arguments.
func (i *Instance) VtyshCommand() []string { return []string{i.vtysh, "-N", i.name} }

// Vtysh runs vtysh on this instance with args (for example "-c", "show
// running-config") and returns its standard output. A non-zero exit is an
// error holding vtysh's output.
func (i *Instance) Vtysh(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, i.vtysh, append([]string{"-N", i.name}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("vtysh -N %s %s: %w: %s%s", i.name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// DaemonPID returns the process id of a daemon, read from its pid file.
func (i *Instance) DaemonPID(daemon string) (int, error) { return DaemonPID(i.name, daemon) }

// DaemonPID returns the process id of a daemon of FRR pathspace name, read
// from its pid file: for an instance this process did not start (one a lab
// left running), as Instance.DaemonPID for one it did.
func DaemonPID(name, daemon string) (int, error) {
	return readPID(filepath.Join(RunDir(name), daemon+".pid"))
}

// WaitDaemon waits until daemon answers on its vty socket and its pid file
// names a live process other than notPID (pass 0 for any), for example after
// KillDaemon, until watchfrr has restarted it.
func (i *Instance) WaitDaemon(ctx context.Context, daemon string, notPID int) (int, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pid, err := i.DaemonPID(daemon)
		if err == nil && pid != notPID && alive(pid) {
			c, derr := net.DialTimeout("unix", filepath.Join(RunDir(i.name), daemon+".vty"), time.Second)
			if derr == nil {
				c.Close()
				return pid, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("frrproc: waiting for %s of pathspace %q: %w", daemon, i.name, ctx.Err())
		case <-tick.C:
		}
	}
}

// KillDaemon kills one daemon with SIGKILL, as a crash would; watchfrr
// restarts it. It returns the killed process id.
func (i *Instance) KillDaemon(daemon string) (int, error) { return KillDaemon(i.name, daemon) }

// KillDaemon kills one daemon of FRR pathspace name with SIGKILL, as a
// crash would (watchfrr restarts it), and returns the killed process id:
// Instance.KillDaemon for an instance this process did not start.
func KillDaemon(name, daemon string) (int, error) {
	pid, err := DaemonPID(name, daemon)
	if err != nil {
		return 0, fmt.Errorf("frrproc: killing %s of pathspace %q: %w", daemon, name, err)
	}
	p, err := os.FindProcess(pid)
	if err == nil {
		err = p.Kill()
	}
	if err != nil {
		return 0, fmt.Errorf("frrproc: killing %s (pid %d) of pathspace %q: %w", daemon, pid, name, err)
	}
	return pid, nil
}

// Stop ends watchfrr and every daemon of the pathspace (SIGTERM, then SIGKILL
// after a grace period) and removes the pathspace's folders. It is safe to
// call more than once.
func (i *Instance) Stop(ctx context.Context) error {
	i.stopOnce.Do(func() {
		if i.watchfrr != nil && i.watchfrr.Process != nil {
			_ = i.watchfrr.Process.Kill() // first, so it restarts nothing
			select {
			case <-i.waitDone:
			case <-time.After(5 * time.Second):
			}
		}
		i.stopErr = Cleanup(ctx, i.name)
	})
	return i.stopErr
}
