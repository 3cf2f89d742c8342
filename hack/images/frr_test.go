package images

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/internal/testenv"
)

// cmdMarker is written by the command herald-frr-start execs, on the
// overlay's upper layer, so the test sees whether it ran even after the
// chroot is gone.
const cmdMarker = "/var/tmp/herald-frr-test.cmd"

// markerCmd is the CMD given to herald-frr-start: leave the marker, then
// stay, as the frr-agent would.
var markerCmd = []string{"/bin/sh", "-c", "echo ran >" + cmdMarker + "; exec sleep 3600"}

func frrRootfs(t *testing.T) string {
	t.Helper()
	testenv.RequireRoot(t)
	rootfs := built(t)["FRR_ROOTFS"]
	if _, err := os.Stat(rootfs + "/usr/local/bin/herald-frr-start"); err != nil {
		t.Fatalf("images.env names FRR_ROOTFS=%s, which has no herald-frr-start (run `make images`): %v", rootfs, err)
	}
	return rootfs
}

// TestFRRImageStarts runs the FRR image's entrypoint as a pod would: in its
// own network namespace, with /etc/frr an empty volume. herald-frr-start
// must fill /etc/frr, start the daemons, and exec its command only once
// they are all up; FRR must be 10.x; herald-frr-check must pass, then fail
// naming bgpd once bgpd is killed (watchfrr held stopped so that it cannot
// restart it first), then pass again once watchfrr has restarted it; and
// SIGTERM must reach the command, whose status herald-frr-start exits with.
func TestFRRImageStarts(t *testing.T) {
	rootfs := frrRootfs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	c := startChroot(t, rootfs, chrootOptions{}, append([]string{"/usr/local/bin/herald-frr-start"}, markerCmd...)...)
	if err := c.waitFor(90*time.Second, "herald-frr-start to exec its command", func() bool {
		_, err := os.Stat(c.upperPath(cmdMarker))
		return err == nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("herald-frr-start: daemons up and command started %.1fs after unshare", time.Since(start).Seconds())

	check := func() (string, int) {
		out, err := c.exec(ctx, "herald-frr-check")
		return strings.TrimSpace(out), exitCode(err)
	}
	if out, rc := check(); rc != 0 || out != "running: zebra mgmtd bgpd bfdd staticd watchfrr" {
		t.Fatalf("herald-frr-check = %d %q, want 0 and all six daemons running", rc, out)
	}

	out, err := c.exec(ctx, "vtysh", "-c", "show version")
	if err != nil || !strings.Contains(out, "FRRouting 10.") {
		t.Errorf("vtysh -c 'show version' = %v:\n%s\nwant FRRouting 10.x", err, out)
	} else {
		t.Logf("vtysh: %s", strings.SplitN(out, "\n", 2)[0])
	}
	// bfdd and bgpd answer through vtysh.
	for _, cmd := range []string{"show bfd peers", "show bgp summary"} {
		if out, err := c.exec(ctx, "vtysh", "-c", cmd); err != nil {
			t.Errorf("vtysh -c %q: %v\n%s", cmd, err, out)
		}
	}

	// /etc/frr was an empty tmpfs: herald-frr-start filled it with the
	// defaults, owned and moded as FRR expects.
	out, err = c.exec(ctx, "stat", "-c", "%n %U:%G %a", "/etc/frr", "/etc/frr/daemons", "/etc/frr/frr.conf", "/etc/frr/vtysh.conf")
	if err != nil {
		t.Fatalf("stat in the chroot: %v\n%s", err, out)
	}
	want := "/etc/frr frr:frr 755\n/etc/frr/daemons frr:frr 640\n/etc/frr/frr.conf frr:frr 640\n/etc/frr/vtysh.conf frr:frrvty 640"
	if diff := cmp.Diff(want, strings.TrimSpace(out)); diff != "" {
		t.Errorf("/etc/frr after herald-frr-start (-want +got):\n%s", diff)
	}

	// Kill bgpd with watchfrr stopped: the check must fail and say bgpd.
	if out, err := c.exec(ctx, "sh", "-c", "kill -STOP $(cat /var/run/frr/watchfrr.pid) && kill -KILL $(cat /var/run/frr/bgpd.pid)"); err != nil {
		t.Fatalf("stopping watchfrr and killing bgpd: %v\n%s", err, out)
	}
	var last string
	if err := c.waitFor(10*time.Second, "herald-frr-check to fail", func() bool {
		out, rc := check()
		last = out
		return rc == 1
	}); err != nil {
		t.Fatalf("%v; last output %q", err, last)
	}
	if want := "FRR daemons not running: bgpd (running: zebra mgmtd bfdd staticd watchfrr)"; last != want {
		t.Errorf("herald-frr-check with bgpd killed = %q, want %q", last, want)
	}

	// watchfrr, let go, restarts bgpd and the check passes again.
	if out, err := c.exec(ctx, "sh", "-c", "kill -CONT $(cat /var/run/frr/watchfrr.pid)"); err != nil {
		t.Fatalf("resuming watchfrr: %v\n%s", err, out)
	}
	restart := time.Now()
	if err := c.waitFor(90*time.Second, "watchfrr to restart bgpd", func() bool {
		out, rc := check()
		last = out
		return rc == 0
	}); err != nil {
		t.Fatalf("%v; last output %q", err, last)
	}
	t.Logf("watchfrr restarted bgpd in %.1fs", time.Since(restart).Seconds())

	// As the container's PID 1, herald-frr-start passes SIGTERM on to its
	// command and exits with the command's status (sleep, killed: 143).
	pid, err := c.nsPID()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to herald-frr-start: %v", err)
	}
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("herald-frr-start did not exit 20s after SIGTERM")
	}
	if rc := exitCode(c.err); rc != 143 || !strings.Contains(c.output(), "herald-frr-start: /bin/sh exited with status 143") {
		t.Errorf("after SIGTERM herald-frr-start exited %d (want 143, its command's status), saying:\n%s", rc, c.output())
	}
}

// TestFRRStartRefusesWithoutDaemons: when a daemon cannot start, herald-frr-start
// must exit non-zero naming it, and never exec its command.
func TestFRRStartRefusesWithoutDaemons(t *testing.T) {
	rootfs := frrRootfs(t)
	broken := map[string]string{"/usr/lib/frr/bgpd": "#!/bin/sh\necho 'bgpd: made unable to start by the test' >&2\nexit 1\n"}
	start := time.Now()
	c := startChroot(t, rootfs, chrootOptions{Env: []string{"HERALD_FRR_START_TIMEOUT=5"}, Upper: broken},
		append([]string{"/usr/local/bin/herald-frr-start"}, markerCmd...)...)
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("herald-frr-start did not exit 2 minutes after its start with bgpd unable to start")
	}
	if rc := exitCode(c.err); rc != 1 {
		t.Errorf("herald-frr-start exited with %d (%v), want 1", rc, c.err)
	}
	out := c.output()
	t.Logf("herald-frr-start exited after %.1fs:\n%s", time.Since(start).Seconds(), out)
	for _, want := range []string{"after 5s: FRR daemons not running: bgpd (running: zebra mgmtd bfdd staticd watchfrr)", "not starting /bin/sh; stopping FRR and exiting"} {
		if !strings.Contains(out, want) {
			t.Errorf("herald-frr-start's output does not say %q", want)
		}
	}
	if _, err := os.Stat(c.upperPath(cmdMarker)); err == nil {
		t.Errorf("herald-frr-start ran its command although bgpd was not up")
	}
}
