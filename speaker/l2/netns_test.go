package l2_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/testenv"
	"github.com/heraldlb/herald/speaker/l2/l2lab"
	"github.com/heraldlb/herald/speaker/l2/owner"
)

func TestMain(m *testing.M) {
	l2lab.MaybeRunNode() // in a node process: runs the node and exits
	os.Exit(m.Run())
}

// requireLab stops the test unless it can build namespaces and run arping
// and ndisc6.
func requireLab(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	for _, tool := range []string{"ip", "arping", "ndisc6"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.InCI() {
				t.Fatalf("CI=true and this test cannot run: needs %s: %v", tool, err)
			}
			t.Skipf("skipping: needs %s: %v", tool, err)
		}
	}
}

// cluster is a lab with a node process per node.
type cluster struct {
	t     *testing.T
	lab   *l2lab.Lab
	names []string
	procs []*exec.Cmd
	ips   []string
}

func startCluster(t *testing.T, n int, ips ...string) *cluster {
	t.Helper()
	lab, err := l2lab.New(n)
	t.Cleanup(func() {
		if lab != nil {
			if err := lab.Close(); err != nil {
				t.Errorf("removing the lab: %v", err)
			}
		}
	})
	if err != nil {
		t.Fatalf("building the lab: %v", err)
	}
	c := &cluster{t: t, lab: lab, ips: ips}
	specs, err := lab.NodeSpecs(ips...)
	if err != nil {
		t.Fatal(err)
	}
	for i, spec := range specs {
		// The test checks behaviour, not speed, on a machine shared with
		// other builds: timers slower than the defaults, so that a node
		// starved of CPU for a second is not declared dead (the benchmark
		// e2e/bench/l2failover measures the default timers).
		spec.ProbeInterval, spec.ProbeTimeout = 200*time.Millisecond, 100*time.Millisecond
		spec.SuspicionMult, spec.SuspicionMaxTimeoutMult = 5, 4
		c.names = append(c.names, spec.Name)
		p, err := lab.StartNode(i, spec, nil, os.Args[0], "-test.run=^$")
		if err != nil {
			t.Fatal(err)
		}
		c.procs = append(c.procs, p)
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			if p.ProcessState == nil {
				p.Process.Kill()
				p.Wait()
			}
		}
	})
	return c
}

// ownerMAC is the MAC of the node that should answer for ip among live.
func (c *cluster) ownerMAC(ip string, live []string) string {
	o := owner.Owner(netip.MustParseAddr(ip), live)
	i := slices.Index(c.names, o)
	return l2lab.NodeMAC(i + 1).String()
}

// answers returns the MACs answering ip from the client: arping for IPv4,
// ndisc6 for IPv6.
func (c *cluster) answers(ip string) []string {
	c.t.Helper()
	var macs []string
	var err error
	if netip.MustParseAddr(ip).Is4() {
		macs, err = c.lab.Arping(ip, 3, 0.1)
	} else {
		macs, err = c.lab.Ndisc(ip, 300)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return macs
}

// waitOwners waits until every IP is answered by its owner among live only.
func (c *cluster) waitOwners(live []string, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for _, ip := range c.ips {
		want := c.ownerMAC(ip, live)
		for {
			got := c.answers(ip)
			if len(got) > 0 && allEqual(got, want) {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s answered by %v, want only %s (owner among %v)", ip, got, want, live)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// checkExactlyOne checks that every IP is answered by its owner only: arping
// sends 3 requests, so a second node answering shows as more than 3 replies
// or another MAC.
func (c *cluster) checkExactlyOne(live []string) {
	c.t.Helper()
	for _, ip := range c.ips {
		want := c.ownerMAC(ip, live)
		got := c.answers(ip)
		max := 3
		if netip.MustParseAddr(ip).Is6() {
			max = 1
		}
		if len(got) == 0 || len(got) > max || !allEqual(got, want) {
			c.t.Errorf("%s: answers from %v, want 1..%d answers all from %s", ip, got, max, want)
		}
	}
}

func allEqual(macs []string, want string) bool {
	for _, m := range macs {
		if m != want {
			return false
		}
	}
	return true
}

func without(names []string, gone string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == gone })
}

// TestLayer2InNamespaces runs three nodes, each a process in its own network
// namespace on a bridge, with real ARP and NDP sockets, memberlist and the
// rtnetlink watch, and probes them with arping and ndisc6 from a client
// namespace.
func TestLayer2InNamespaces(t *testing.T) {
	requireLab(t)
	ips := []string{"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14", "192.0.2.15",
		"2001:db8:200::10", "2001:db8:200::11", "2001:db8:200::12"}
	c := startCluster(t, 3, ips...)
	all := c.names
	c.waitOwners(all, 20*time.Second)
	c.checkExactlyOne(all)

	// Only the owner of 2001:db8:200::10 has joined its solicited-node group
	// (no node address shares it).
	v6owner := slices.Index(all, owner.Owner(netip.MustParseAddr("2001:db8:200::10"), all))
	for i := range all {
		groups, err := c.lab.NodeGroups(i)
		if err != nil {
			t.Fatal(err)
		}
		if joined := slices.Contains(groups, "ff02::1:ff00:10"); joined != (i == v6owner) {
			t.Errorf("%s joined ff02::1:ff00:10: %v, want %v (owner of 2001:db8:200::10: %s); groups %v", all[i], joined, i == v6owner, all[v6owner], groups)
		}
	}

	// A unicast solicitation (a client confirming a neighbor it knows) is
	// answered too, though the kernel drops it before any IP socket.
	t.Run("unicast NS to the Service IP answered", func(t *testing.T) {
		ip := "2001:db8:200::11"
		state, err := c.lab.ClientNUD(ip, c.ownerMAC(ip, all))
		if err != nil {
			t.Fatal(err)
		}
		if state != "REACHABLE" {
			t.Errorf("client's entry for %s after its unicast solicitations to the owner's MAC: %s, want REACHABLE", ip, state)
		}
	})

	// The IP to move and its owner.
	moved := "192.0.2.10"
	o := slices.Index(all, owner.Owner(netip.MustParseAddr(moved), all))
	rest := without(all, all[o])
	oldMAC, newMAC := c.ownerMAC(moved, all), c.ownerMAC(moved, rest)

	t.Run("cut owner link: IP moves, client sees new MAC", func(t *testing.T) {
		// Let the client's kernel learn the owner's MAC (no echo reply: the
		// nodes do not hold the IP, they only answer ARP for it).
		for try := 0; ; try++ {
			c.lab.ClientExec("ping", "-c", "1", "-W", "1", moved)
			got, err := c.lab.ClientNeighbor(moved)
			if err == nil && got == oldMAC {
				break
			}
			if try == 5 {
				t.Fatalf("client neighbor entry for %s = %q (%v) after 6 pings, want %s", moved, got, err, oldMAC)
			}
		}
		if err := c.lab.Cut(o); err != nil {
			t.Fatal(err)
		}
		cut := time.Now()
		for {
			got, err := c.lab.Arping(moved, 1, 0.05)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 && got[0] == newMAC {
				t.Logf("%s answered by the new owner %s %v after the cut", moved, newMAC, time.Since(cut).Round(time.Millisecond))
				break
			}
			if time.Since(cut) > 10*time.Second {
				t.Fatalf("%s still answered by %v 10s after cutting %s, want %s", moved, got, all[o], newMAC)
			}
		}
		// The gratuitous ARP burst updated the client's existing entry.
		deadline := time.Now().Add(3 * time.Second)
		for {
			got, err := c.lab.ClientNeighbor(moved)
			if err != nil {
				t.Fatal(err)
			}
			if got == newMAC {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("client neighbor entry for %s is %s 3s after the failover, want %s", moved, got, newMAC)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.waitOwners(rest, 5*time.Second)
		c.checkExactlyOne(rest)
	})

	t.Run("old owner back: silent until handed back, never two answers", func(t *testing.T) {
		if err := c.lab.Restore(o); err != nil {
			t.Fatal(err)
		}
		// Probe every 20ms for 5s while the old owner rejoins.
		got, err := c.lab.Arping(moved, 250, 0.02)
		if err != nil {
			t.Fatal(err)
		}
		changes := 0
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1] {
				changes++
			}
		}
		if len(got) > 250 || changes > 1 || len(got) == 0 || got[0] != newMAC {
			t.Errorf("replies while the old owner came back: %d for 250 requests, %d MAC changes, first %v; want ≤ 250, ≤ 1 change, first %s", len(got), changes, first(got), newMAC)
		}
		// Rendezvous: the IPs whose best node is back return to it, and
		// only to it.
		c.waitOwners(all, 10*time.Second)
		c.checkExactlyOne(all)
	})

	t.Run("SIGTERM: the node leaves and its IPs move", func(t *testing.T) {
		term := slices.Index(all, owner.Owner(netip.MustParseAddr("192.0.2.11"), all))
		if err := c.procs[term].Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := c.procs[term].Wait(); err != nil {
			t.Errorf("%s after SIGTERM: %v, want a clean exit", all[term], err)
		}
		c.waitOwners(without(all, all[term]), 5*time.Second)
		c.checkExactlyOne(without(all, all[term]))
	})
}

func first(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return fmt.Sprint(s[0])
}
