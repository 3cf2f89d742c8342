package kubectlplugin

import (
	"context"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/testenv"
)

// probeFor probes t for n probes and sums them up.
func probeFor(tb testing.TB, t ProbeTarget, n int) Phase {
	tb.Helper()
	p, err := StartProber(context.Background(), t)
	if err != nil {
		tb.Fatal(err)
	}
	for len(p.Probes()) < n {
		time.Sleep(t.Every)
	}
	probes := p.Stop()
	return Summarize(probes, time.Time{}, time.Now())
}

// TestProberICMP sends echo requests to the loopback (IPv4 and IPv6), and
// from a network namespace made for the test: answered with its lo up,
// lost with it down.
func TestProberICMP(t *testing.T) {
	testenv.RequireRoot(t)
	for _, a := range []string{"127.0.0.1", "::1"} {
		ph := probeFor(t, ProbeTarget{Proto: "icmp", Addr: netip.MustParseAddr(a), Every: 10 * time.Millisecond, Timeout: time.Second}, 10)
		if ph.Sent < 10 || ph.Lost != 0 {
			t.Errorf("icmp to %s: %+v, want every probe answered", a, ph)
		}
	}
	const ns = "hdrill-probe"
	_ = exec.Command("ip", "netns", "del", ns).Run()
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	target := ProbeTarget{Proto: "icmp", Addr: netip.MustParseAddr("127.0.0.1"), Every: 10 * time.Millisecond, Timeout: 200 * time.Millisecond,
		Netns: "/var/run/netns/" + ns}
	// lo is down in a new namespace: nothing answers.
	if ph := probeFor(t, target, 10); ph.Sent < 10 || ph.Lost != ph.Sent {
		t.Errorf("icmp in %s with lo down: %+v, want every probe lost", ns, ph)
	}
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up in %s: %v: %s", ns, err, out)
	}
	if ph := probeFor(t, target, 10); ph.Sent < 10 || ph.Lost != 0 {
		t.Errorf("icmp in %s with lo up: %+v, want every probe answered", ns, ph)
	}
	// TCP from the namespace: nothing listens there, connections are
	// refused, probes lost.
	target.Proto, target.Port = "tcp", 9
	if ph := probeFor(t, target, 10); ph.Sent < 10 || ph.Lost != ph.Sent {
		t.Errorf("tcp in %s to a closed port: %+v, want every probe lost", ns, ph)
	}
}
