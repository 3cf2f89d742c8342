package vty_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldlb/herald/frragent/vty"
	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
)

// TestBGPDOverSocket configures a real bgpd over its vty socket and reads
// the result back with vtysh.
func TestBGPDOverSocket(t *testing.T) {
	testenv.RequireFRR(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("vty%d", time.Now().UnixNano()%1e6)
	_ = frrproc.Cleanup(ctx, name)
	inst, err := frrproc.Start(ctx, frrproc.Options{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(context.Background()); err != nil {
			t.Errorf("stopping FRR: %v", err)
		}
	})
	c, err := vty.Dial(ctx, vty.SocketPath(frrproc.RunDir(name), "bgpd"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range []string{"configure terminal", "router bgp 64512", "no bgp network import-check",
		"address-family ipv4 unicast", "network 192.0.2.10/32", "exit-address-family", "exit"} {
		if _, err := c.Run(ctx, cmd); err != nil {
			t.Fatalf("Run(%q): %v", cmd, err)
		}
	}
	_, err = c.Run(ctx, "router bgp 64512 vrf")
	var ce *vty.CommandError
	if !errors.As(err, &ce) || ce.Status == 0 {
		t.Fatalf("an incomplete command gave %v; want a *CommandError", err)
	}
	if _, err := c.Run(ctx, "end"); err != nil {
		t.Fatal(err)
	}
	run, err := c.Run(ctx, "show running-config")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(run, "\n  network 192.0.2.10/32\n") {
		t.Errorf("bgpd's running config lacks the network:\n%s", run)
	}
	out, err := inst.Vtysh(ctx, "-c", "show bgp ipv4 unicast 192.0.2.10/32 json")
	if err != nil || !strings.Contains(out, "192.0.2.10/32") {
		t.Errorf("vtysh does not see the network: %v\n%s", err, out)
	}
}

// TestRunBatchOnBGPD sends a batch with a refused command in the middle to
// a real bgpd: every command gets its own answer, in order, the refused one
// FRR's reason, and the commands after it run.
func TestRunBatchOnBGPD(t *testing.T) {
	testenv.RequireFRR(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("vtyb%d", time.Now().UnixNano()%1e6)
	_ = frrproc.Cleanup(ctx, name)
	inst, err := frrproc.Start(ctx, frrproc.Options{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(context.Background()); err != nil {
			t.Errorf("stopping FRR: %v", err)
		}
	})
	c, err := vty.Dial(ctx, vty.SocketPath(frrproc.RunDir(name), "bgpd"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmds := []string{"configure terminal", "router bgp 64512", "bgp router-id 192.0.2.1", "no bgp network import-check",
		"neighbor 198.51.100.7 bogus-keyword", "address-family ipv4 unicast"}
	for i := range 300 { // more than one read's worth of answers
		cmds = append(cmds, fmt.Sprintf("network 192.0.2.%d/32", i%250))
	}
	cmds = append(cmds, "exit-address-family", "exit", "end", "show running-config")
	replies, err := c.RunBatch(ctx, cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != len(cmds) {
		t.Fatalf("%d replies to %d commands", len(replies), len(cmds))
	}
	for i, r := range replies {
		var ce *vty.CommandError
		switch {
		case i == 4 && (!errors.As(r.Err, &ce) || ce.Command != cmds[4]):
			t.Errorf("reply to %q: %v, want a *CommandError for it", cmds[4], r.Err)
		case i != 4 && r.Err != nil:
			t.Errorf("reply to %q: %v", cmds[i], r.Err)
		}
	}
	if run := replies[len(replies)-1].Output; !strings.Contains(run, "\n  network 192.0.2.249/32\n") || !strings.Contains(run, "bgp router-id 192.0.2.1") {
		t.Errorf("the last answer (show running-config) lacks the batch's lines:\n%s", run)
	}
	// The connection still works one command at a time.
	if _, err := c.Run(ctx, "show version"); err != nil {
		t.Errorf("Run after RunBatch: %v", err)
	}
}
