package frrproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/testenv"
)

// uniqueName returns a pathspace and namespace name unique to this test run.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, os.Getpid()%100000)
}

func TestDaemonsFile(t *testing.T) {
	got := daemonsFile("n1", []string{"zebra", "bgpd", "bfdd", "staticd"})
	for _, want := range []string{"bgpd=yes\n", "bfdd=yes\n", "zebra_options=\"-P 0 -s 90000000\"\n", "frr_global_options=\"--log file:/var/run/frr/n1/frr.log\"\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("daemonsFile() lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "zebra=yes") {
		t.Errorf("daemonsFile() enables zebra explicitly (frrcommon.sh always runs it):\n%s", got)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"empty name", Options{}, "Options.Name"},
		{"slash in name", Options{Name: "a/b"}, "Options.Name"},
		{"unknown daemon", Options{Name: "x", Daemons: []string{"bgpd", "quagga"}}, "Options.Daemons"},
		{"missing netns", Options{Name: "x", Netns: "hx-no-such-ns"}, "Options.Netns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start() error = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestInstanceLifecycle(t *testing.T) {
	testenv.RequireFRR(t)
	name := uniqueName("hxfp")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	inst, err := Start(ctx, Options{
		Name:   name,
		Netns:  name,
		Config: "frr defaults traditional\nhostname " + name + "\n!\nrouter bgp 64512\n bgp router-id 192.0.2.1\nexit\n!\n",
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = inst.Stop(context.Background()) })

	out, err := inst.Vtysh(ctx, "-c", "show running-config")
	if err != nil {
		t.Fatalf("vtysh: %v", err)
	}
	if !strings.Contains(out, "router bgp 64512") {
		t.Errorf("running config lacks the initial config's router bgp 64512:\n%s", out)
	}
	// The daemons run in the namespace: bgpd's listening socket is there.
	ss, err := exec.Command("ip", "netns", "exec", name, "ss", "-ltn", "sport = :179").CombinedOutput()
	if err != nil || !strings.Contains(string(ss), ":179") {
		t.Errorf("bgpd does not listen on :179 in namespace %s: %v\n%s", name, err, ss)
	}

	// The pathspace's folders are the frr user's alone (frr.conf holds
	// passwords, the logs may quote config lines): 0700, so that what the
	// daemons write there with modes of their own (pid files 0644, frr.log
	// 0640) is out of others' reach too, and the files herald writes 0600.
	for _, dir := range []string{ConfDir(name), RunDir(name)} {
		if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (stat: %v), want 0700", dir, info.Mode().Perm(), err)
		}
	}
	for _, f := range []string{"daemons", "vtysh.conf", "frr.conf"} {
		p := filepath.Join(ConfDir(name), f)
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (stat: %v), want 0600", p, info.Mode().Perm(), err)
		}
	}
	if info, err := os.Stat(filepath.Join(RunDir(name), "watchfrr.log")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("watchfrr.log: mode %v (stat: %v), want 0600", info.Mode().Perm(), err)
	}

	// A killed bgpd comes back under watchfrr, with frr.conf loaded.
	old, err := inst.KillDaemon("bgpd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.WaitDaemon(ctx, "bgpd", old); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err = inst.Vtysh(ctx, "-c", "show running-config")
		if err == nil && strings.Contains(out, "router bgp 64512") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bgpd restarted without frr.conf loaded: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := inst.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if pids := pathspacePIDs(name); len(pids) != 0 {
		t.Errorf("processes %v of pathspace %s survive Stop", pids, name)
	}
	for _, dir := range []string{ConfDir(name), RunDir(name)} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s survives Stop (stat: %v)", dir, err)
		}
	}
}
