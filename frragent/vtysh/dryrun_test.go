package vtysh_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/internal/testenv"
)

// TestDryRun checks configs with FRR's vtysh: each check uses the vtysh
// started ahead by the one before.
func TestDryRun(t *testing.T) {
	testenv.RequireFRR(t)
	d := vtysh.NewDryRun("vtysh", "")
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	good := []byte("router bgp 64512\n address-family ipv4 unicast\n  network 192.0.2.1/32 route-map herald-class-7\n exit-address-family\nexit\n")
	bad := []byte("router bgp 64512\n address-family ipv4 unicast\n  network 192.0.2.300/32\n exit-address-family\nexit\n")
	for i := range 3 {
		if out, err := d.Check(ctx, good); err != nil {
			t.Fatalf("check %d of a good config: %v\n%s", i, err, out)
		}
		out, err := d.Check(ctx, bad)
		var ve *vtysh.Error
		if !errors.As(err, &ve) {
			t.Fatalf("check %d of a bad config: error %v, want a *vtysh.Error", i, err)
		}
		rej := vtysh.ParseRejected(out, vtysh.Output(err))
		if len(rej) != 1 || rej[0].Line != 3 || rej[0].Text != "network 192.0.2.300/32" {
			t.Errorf("check %d of a bad config rejected %+v; want line 3, network 192.0.2.300/32", i, rej)
		}
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := d.Check(ctx, good); err == nil {
		t.Error("Check worked after Close")
	}
}

func TestDryRunNoBinary(t *testing.T) {
	d := vtysh.NewDryRun("/nonexistent/vtysh", "")
	defer d.Close()
	if _, err := d.Check(context.Background(), []byte("log stdout\n")); err == nil {
		t.Fatal("a missing vtysh checked a config")
	}
}
