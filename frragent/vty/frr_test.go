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
