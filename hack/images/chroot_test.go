package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// setupScript runs as PID 1 of fresh PID, mount, network, UTS and IPC
// namespaces (made by unshare): it lays a writable overlay over the image's
// root file system (the rootfs itself is never written), mounts /proc,
// /sys, a minimal /dev, and tmpfs on /run and /tmp, and on /etc/frr a tmpfs
// as the pod's emptyDir volume would be (empty, or holding only the
// frr.conf the test gives in /var/tmp/herald-test-frr.conf), brings lo up,
// adds a veth pair eth0/eth1 with 198.51.100.11/24 on eth0 (for configs
// with unnumbered neighbors), and execs the image's entrypoint in a chroot. Every mount lives in the private mount
// namespace and the network namespace has only lo: when PID 1 dies the
// kernel kills every process left and both namespaces go away.
const setupScript = `set -eu
rootfs=$1 scratch=$2; shift 2
m=$scratch/merged
mkdir -p "$scratch/upper" "$scratch/work" "$m"
mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$scratch/upper,workdir=$scratch/work" "$m"
mount -t proc proc "$m/proc"
mount -t sysfs sysfs "$m/sys"
mount -t tmpfs -o mode=0755 tmpfs "$m/dev"
for d in null:1:3 zero:1:5 random:1:8 urandom:1:9 tty:5:0; do
  n=${d%%:*} rest=${d#*:}
  mknod -m 0666 "$m/dev/$n" c "${rest%%:*}" "${rest#*:}"
done
mount -t tmpfs -o mode=0755 tmpfs "$m/etc/frr"
if [ -f "$m/var/tmp/herald-test-frr.conf" ]; then cp "$m/var/tmp/herald-test-frr.conf" "$m/etc/frr/frr.conf"; fi
mount -t tmpfs -o mode=0755 tmpfs "$m/run"
mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"
ip link set lo up
ip link add eth0 type veth peer name eth1
ip link set eth0 up
ip link set eth1 up
ip addr add 198.51.100.11/24 dev eth0
hostname herald-frr-test
exec chroot "$m" "$@"
`

// chroot is the FRR image's root file system running in its own namespaces.
type chroot struct {
	t       *testing.T
	cmd     *exec.Cmd
	scratch string
	out     *syncWriter // unshare's and the entrypoint's stdout and stderr
	done    chan struct{}
	err     error // unshare's exit, once done is closed
}

// chrootOptions change what startChroot runs.
type chrootOptions struct {
	// Env is added to the entrypoint's environment.
	Env []string
	// Upper files are written into the overlay's upper layer before the
	// start and replace files of the image (path in the image: content,
	// made executable).
	Upper map[string]string
	// FRRConf, when set, is in the /etc/frr volume as frr.conf at the start.
	FRRConf string
}

// startChroot runs the image's entrypoint with args in a chroot of rootfs in
// fresh namespaces. Cleanup kills the namespace's PID 1, which takes every
// process, mount and the network namespace with it.
func startChroot(t *testing.T, rootfs string, opts chrootOptions, args ...string) *chroot {
	t.Helper()
	c := &chroot{t: t, scratch: t.TempDir(), done: make(chan struct{}), out: &syncWriter{}}
	upper := map[string]string{}
	for p, content := range opts.Upper {
		upper[p] = content
	}
	if opts.FRRConf != "" {
		upper["/var/tmp/herald-test-frr.conf"] = opts.FRRConf
	}
	for p, content := range upper {
		f := filepath.Join(c.scratch, "upper", p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(c.scratch, "setup.sh")
	if err := os.WriteFile(script, []byte(setupScript), 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command("unshare", append([]string{"--fork", "--pid", "--mount", "--net", "--uts", "--ipc",
		"--propagation", "private", "--kill-child", "--", "/bin/sh", script, rootfs, c.scratch}, args...)...)
	c.cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C"}, opts.Env...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting unshare: %v", err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.stop)
	return c
}

// stop kills unshare, whose --kill-child kills the namespace's PID 1, and
// waits for it; then checks that no mount of the scratch folder is left.
func (c *chroot) stop() {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Kill()
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			c.t.Errorf("unshare (pid %d) did not exit 20s after SIGKILL", c.cmd.Process.Pid)
		}
	}
	// The namespace's processes are gone once its PID 1 is: wait for that
	// (the kernel reaps them asynchronously) before the scratch folder goes.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !c.mounted() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.mounted() {
		c.t.Errorf("a mount of %s outlived the test's namespaces", c.scratch)
	}
	if c.t.Failed() {
		c.t.Logf("entrypoint output:\n%s", c.output())
	}
}

func (c *chroot) mounted() bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	return bytes.Contains(b, []byte(c.scratch))
}

func (c *chroot) output() string { return c.out.String() }

// upperPath is where a file the chroot writes outside its tmpfs mounts
// lands on the host (the overlay's upper layer), readable after the chroot
// is gone.
func (c *chroot) upperPath(p string) string { return filepath.Join(c.scratch, "upper", p) }

// syncWriter is a buffer two goroutines (stdout and stderr copiers) write.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// nsPID returns the host PID of the namespace's PID 1 (unshare's child).
func (c *chroot) nsPID() (int, error) {
	pid := c.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		return 0, fmt.Errorf("unshare (pid %d) has children %q, want one", pid, f)
	}
	return strconv.Atoi(f[0])
}

// exec runs a command inside the chroot's namespaces and root, returning
// its combined output and error.
func (c *chroot) exec(ctx context.Context, args ...string) (string, error) {
	pid, err := c.nsPID()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--target", strconv.Itoa(pid),
		"--mount", "--net", "--pid", "--uts", "--ipc", "--root", "--wd", "--"}, args...)...)
	cmd.Env = c.cmd.Env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitFor polls cond every 200ms until it holds, the entrypoint exits, or
// the timeout passes.
func (c *chroot) waitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("waiting for %s: the entrypoint exited (%v)", what, c.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not after %s", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// exitCode is the exit status of a finished command's error, -1 if it did
// not exit normally.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}
