package l2

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/heraldlb/herald/speaker/l2/member"
	"github.com/heraldlb/herald/speaker/l2/owner"
)

// testNode runs a Node with real memberlist on 127.0.0.1 and fake links and
// sockets until the test ends or stop is called.
type testNode struct {
	*Node
	host *fakeHost
	stop func()
}

func startNode(t *testing.T, name string, peers ...string) *testNode {
	t.Helper()
	h := &fakeHost{
		links: []Link{{Name: "lan0", Index: 2, Flags: net.FlagUp | net.FlagRunning | net.FlagBroadcast, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, byte(len(name))}, MTU: 1500}},
		arps:  map[string]*memConn{},
		ndps:  map[string]*fakeNDP{},
	}
	mc := member.DefaultConfig()
	mc.Name, mc.BindAddr, mc.BindPort, mc.Peers = name, "127.0.0.1", 0, peers
	mc.Keys = [][]byte{bytes.Repeat([]byte{1}, 16)}
	mc.Settle, mc.AloneAfter = 100*time.Millisecond, 300*time.Millisecond
	ac := h.config()
	ac.OnLinks = nil
	n, err := NewNode(NodeConfig{Member: mc, Announcer: ac})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s Run: %v", name, err)
			}
		}
	}
	t.Cleanup(stop)
	return &testNode{Node: n, host: h, stop: stop}
}

func TestNode(t *testing.T) {
	a := startNode(t, "node-a")
	b := startNode(t, "node-b", a.mem.Addr())
	nodes := []string{"node-a", "node-b"}
	var svcs []Service
	ip := netip.MustParseAddr("192.0.2.1")
	for range 10 {
		svcs = append(svcs, Service{IP: ip, Nodes: nodes})
		ip = ip.Next()
	}
	a.SetServices(svcs)
	b.SetServices(svcs)
	owned := func(n *testNode) int { return len(n.Status()) }
	eventually(t, "the 10 IPs split between the nodes", func() bool {
		return owned(a)+owned(b) == 10 && owned(a) > 0 && owned(b) > 0
	})
	for _, s := range svcs {
		want := owner.Owner(s.IP, nodes)
		if got := slices.Contains(a.Owned(), s.IP); got != (want == "node-a") {
			t.Errorf("node-a owns %s: %v, want owner %s", s.IP, got, want)
		}
	}

	// node-a's link loses its carrier: it gives everything up, node-b takes over.
	a.host.setFlags("lan0", net.FlagUp|net.FlagBroadcast)
	eventually(t, "node-b to own all 10 IPs", func() bool { return owned(a) == 0 && owned(b) == 10 })

	// Back: the IPs whose best node is node-a return to it.
	a.host.setFlags("lan0", net.FlagUp|net.FlagRunning|net.FlagBroadcast)
	eventually(t, "the split to come back", func() bool { return owned(a) > 0 && owned(a)+owned(b) == 10 })

	// node-b stops (SIGTERM): it leaves, node-a takes everything at once.
	b.stop()
	eventually(t, "node-a to own all 10 IPs", func() bool { return owned(a) == 10 })
	if got := a.Live(); !slices.Equal(got, []string{"node-a"}) {
		t.Errorf("node-a sees %v live after node-b left", got)
	}
}

// TestNodeNamedInterfaceDown: a node whose Services name an interface that
// goes down gives its IPs up though another interface (management) stays
// up, and takes them back only through the ready handshake.
func TestNodeNamedInterfaceDown(t *testing.T) {
	a := startNode(t, "node-a")
	b := startNode(t, "node-b", a.mem.Addr())
	for _, n := range []*testNode{a, b} {
		n.host.mu.Lock()
		n.host.links = append(n.host.links, Link{Name: "mgmt0", Index: 3, Flags: net.FlagUp | net.FlagRunning | net.FlagBroadcast,
			HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 1, 1}, MTU: 1500})
		n.host.mu.Unlock()
	}
	nodes := []string{"node-a", "node-b"}
	var svcs []Service
	ip := netip.MustParseAddr("192.0.2.1")
	for range 10 {
		svcs = append(svcs, Service{IP: ip, Nodes: nodes, Interfaces: []string{"lan0"}})
		ip = ip.Next()
	}
	a.SetServices(svcs)
	b.SetServices(svcs)
	owned := func(n *testNode) int { return len(n.Status()) }
	eventually(t, "the 10 IPs split between the nodes", func() bool {
		return owned(a)+owned(b) == 10 && owned(a) > 0 && owned(b) > 0
	})

	a.host.setFlags("lan0", net.FlagUp|net.FlagBroadcast)
	eventually(t, "node-b to own all 10 IPs", func() bool { return owned(b) == 10 })
	if got := a.Owned(); len(got) != 0 {
		t.Errorf("node-a, its lan0 down, still owns %v (mgmt0 is up but no Service names it)", got)
	}
	a.host.setFlags("lan0", net.FlagUp|net.FlagRunning|net.FlagBroadcast)
	eventually(t, "the split to come back", func() bool { return owned(a) > 0 && owned(a)+owned(b) == 10 })
}
