package frrconfig

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
)

// startFRR starts a throw-away FRR instance (zebra, bgpd, bfdd, staticd) in
// a network namespace of its own holding a veth pair eth0/eth1 (for
// unnumbered neighbors), with config as its frr.conf. Everything goes away
// when the test ends.
func startFRR(t *testing.T, config string) *frrproc.Instance {
	t.Helper()
	testenv.RequireFRR(t)
	name := fmt.Sprintf("hxfc%d", rand.N(1_000_000_000))
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	run("ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run("ip", "-n", name, "link", "set", "lo", "up")
	run("ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
	run("ip", "-n", name, "link", "set", "eth0", "up")
	run("ip", "-n", name, "link", "set", "eth1", "up")
	run("ip", "-n", name, "addr", "add", "198.51.100.11/24", "dev", "eth0")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inst, err := frrproc.Start(ctx, frrproc.Options{Name: name, Netns: name, Config: config})
	if err != nil {
		t.Fatalf("starting FRR: %v", err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(context.Background()); err != nil {
			t.Errorf("stopping FRR: %v", err)
		}
	})
	return inst
}

// runningConfig returns FRR's normalized `show running-config`.
func runningConfig(t *testing.T, inst *frrproc.Instance) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := inst.Vtysh(ctx, "-c", "show running-config")
	if err != nil {
		t.Fatalf("show running-config: %v", err)
	}
	return Normalize([]byte(out))
}

// TestRenderMatchesFRR boots real FRR on each golden config and checks that
// FRR's running config is, line for line, what Render printed.
func TestRenderMatchesFRR(t *testing.T) {
	testenv.RequireFRR(t)
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each instance has its own namespace and pathspace
			rendered, err := Render(tc.cfg)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			inst := startFRR(t, string(rendered))
			if diff := cmp.Diff(Normalize(rendered), runningConfig(t, inst)); diff != "" {
				t.Errorf("FRR's running config differs from Render's output (-rendered +running):\n%s", diff)
			}
		})
	}
}

// applyCommands runs Diff's commands in one vtysh session.
func applyCommands(t *testing.T, inst *frrproc.Instance, cmds []string) {
	t.Helper()
	args := []string{"-c", "configure terminal"}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := inst.Vtysh(ctx, args...)
	if err != nil {
		t.Fatalf("applying %q: %v", cmds, err)
	}
	if out != "" {
		t.Logf("vtysh said: %s", out)
	}
}

// TestDiffOnFRR boots real FRR on Render(old), applies Diff(old, new) over
// vtysh and checks that FRR then runs exactly Render(new).
func TestDiffOnFRR(t *testing.T) {
	testenv.RequireFRR(t)
	for _, tc := range diffCases() {
		if _, err := Diff(tc.configs()); errors.Is(err, ErrNeedsReload) {
			continue // no commands to run on FRR: TestDiffNeedsReload covers it
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old, new := tc.configs()
			cmds, err := Diff(old, new)
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			before, err := Render(old)
			if err != nil {
				t.Fatal(err)
			}
			after, err := Render(new)
			if err != nil {
				t.Fatal(err)
			}
			inst := startFRR(t, string(before))
			if diff := cmp.Diff(Normalize(before), runningConfig(t, inst)); diff != "" {
				t.Fatalf("FRR did not boot into Render(old) (-rendered +running):\n%s", diff)
			}
			if len(cmds) > 0 {
				applyCommands(t, inst, cmds)
			}
			if diff := cmp.Diff(Normalize(after), runningConfig(t, inst)); diff != "" {
				t.Errorf("after Diff's commands %q, FRR's running config differs from Render(new) (-rendered +running):\n%s", cmds, diff)
			}
		})
	}
}
