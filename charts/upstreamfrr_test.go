package charts

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	agentclient "github.com/heraldlb/herald/frragent/client"
	"github.com/heraldlb/herald/internal/testenv"
)

// TestUpstreamFRRRecipe runs the FRR container's start command of
// ci/upstream-frr-values.yaml (the README's "Using an existing FRR image")
// against an FRR that is not herald's image — Debian 12's FRR 8.4, the
// oldest FRR herald supports — the way the speaker pod runs it: /etc/frr,
// /var/run/frr and /run/herald empty (tmpfs standing for the pod's
// emptyDirs), in fresh mount, network and PID namespaces. The agent's path
// /shared/herald is replaced with the built herald. It checks that the
// agent's socket belongs to the speaker's user and that the agent reports
// every daemon it needs up.
func TestUpstreamFRRRecipe(t *testing.T) {
	testenv.RequireFRR(t)
	herald := os.Getenv("HERALD_BIN")
	if herald == "" {
		herald = testenv.Tool(t, "herald", "build")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("needs unshare (util-linux): %v", err)
	}
	objs := mustHelmTemplate(t, "--values", "charts/herald/ci/upstream-frr-values.yaml")
	frr := container(t, find(t, objs, "DaemonSet", "herald-speaker"), "containers", "frr")
	if frr == nil {
		t.Fatal("no FRR container with the upstream FRR values")
	}
	if diff := cmp.Diff([]string{"/bin/sh", "-c"}, stringList(frr, "command")); diff != "" {
		t.Fatalf("the FRR container's command is not a shell script (-want +got):\n%s", diff)
	}
	args := stringList(frr, "args")
	if len(args) != 1 || !strings.Contains(args[0], "/shared/herald frr-agent") {
		t.Fatalf("the FRR container's args %q are not one script ending in /shared/herald frr-agent", args)
	}
	recipe := strings.ReplaceAll(args[0], "/shared/herald", herald)

	// The pod's emptyDirs are world-writable folders; the host's /run,
	// /etc/frr and FRR's log folder are hidden from the namespace only.
	wrapper := `set -e
mount --make-rprivate /
mount -t tmpfs -o mode=0755 herald-run /run
mkdir -m 0777 /run/frr /run/herald
mount -t tmpfs -o mode=0777 herald-etc-frr /etc/frr
if [ -d /var/log/frr ]; then mount -t tmpfs -o mode=0755 herald-log-frr /var/log/frr; chown frr:frr /var/log/frr; fi
ip link set lo up
exec /bin/sh -c "$RECIPE"
`
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", "/bin/sh", "-c", wrapper)
	cmd.Env = append(os.Environ(), "RECIPE="+recipe)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// unshare --kill-child takes the namespace's first process, and
		// with it every process of the PID namespace, along.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("the recipe's output:\n%s", out.String())
		}
	})

	// The namespace's first process is unshare's child; the agent's socket
	// is reached through its root, which sees the namespace's mounts.
	var socket string
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("the recipe ended (%v) before the agent served:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no agent socket after 90s:\n%s", out.String())
		}
		if pid := childOf(cmd.Process.Pid); pid > 0 {
			socket = fmt.Sprintf("/proc/%d/root/run/herald/frr-agent.sock", pid)
			if _, err := os.Stat(socket); err == nil {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	fi, err := os.Stat(socket)
	if err != nil {
		t.Fatal(err)
	}
	// The speaker runs as uid 0 (config/default: raw sockets need
	// CAP_NET_RAW in the effective set).
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("the agent's socket is %d:%d %v, want the speaker's user 0:0 and mode 0600", st.Uid, st.Gid, fi.Mode().Perm())
	}

	c := agentclient.New(socket)
	var down []string
	for {
		if time.Now().After(deadline) {
			t.Fatalf("FRR daemons still down after 90s: %v", down)
		}
		hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
		h, err := c.Health(hctx)
		hcancel()
		if err == nil && len(h.Daemons) > 0 {
			if down = h.Down(); len(down) == 0 {
				t.Logf("the agent reports up: %v", h.Daemons)
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The values' liveness check passes with FRR up, and fails once bgpd
	// is killed (and before watchfrr restarts it).
	probe, _, _ := unstructured.NestedStringSlice(frr, "livenessProbe", "exec", "command")
	if len(probe) == 0 {
		t.Fatal("the upstream FRR values have no exec liveness probe")
	}
	pid := childOf(cmd.Process.Pid)
	inNS := func(args ...string) ([]byte, error) {
		all := append([]string{"--target", strconv.Itoa(pid), "--mount", "--net", "--pid", "--"}, args...)
		return exec.CommandContext(ctx, "nsenter", all...).CombinedOutput()
	}
	if out, err := inNS(probe...); err != nil {
		t.Fatalf("the liveness probe %q fails with FRR up: %v\n%s", probe, err, out)
	}
	if out, err := inNS("/bin/sh", "-c", `kill -9 "$(cat /var/run/frr/bgpd.pid)"`); err != nil {
		t.Fatalf("killing bgpd: %v\n%s", err, out)
	}
	if out, err := inNS(probe...); err == nil {
		t.Errorf("the liveness probe %q passes right after bgpd was killed:\n%s", probe, out)
	}
}

// childOf returns the first child of process pid, or 0.
func childOf(pid int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// TestReadmeShowsUpstreamValues checks that the README shows the upstream
// FRR values as the file the tests run holds them.
func TestReadmeShowsUpstreamValues(t *testing.T) {
	root := testenv.ModuleRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	values, err := os.ReadFile(filepath.Join(root, "charts/herald/ci/upstream-frr-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(values), "\nfrr:\n")
	if !ok {
		t.Fatal("charts/herald/ci/upstream-frr-values.yaml has no top-level frr:")
	}
	if !strings.Contains(string(readme), "\nfrr:\n"+body) {
		t.Errorf("README.md does not show charts/herald/ci/upstream-frr-values.yaml's frr: block as it is; copy it over")
	}
}
