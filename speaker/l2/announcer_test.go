package l2

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
)

// fakeHost is a set of links and the in-memory connections the announcer
// opened on them.
type fakeHost struct {
	mu     sync.Mutex
	links  []Link
	arps   map[string]*memConn
	ndps   map[string]*fakeNDP
	chosen [][]string // default interfaces at each OnLinks call
}

func (h *fakeHost) list() ([]Link, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Link(nil), h.links...), nil
}

func (h *fakeHost) setFlags(name string, f net.Flags) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.links {
		if h.links[i].Name == name {
			h.links[i].Flags = f
		}
	}
}

func (h *fakeHost) arp(name string) *memConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.arps[name]
}

func (h *fakeHost) ndp(name string) *fakeNDP {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ndps[name]
}

func (h *fakeHost) config() AnnouncerConfig {
	return AnnouncerConfig{
		Rescan: 10 * time.Millisecond,
		Burst:  []time.Duration{0, 20 * time.Millisecond},
		Log:    logr.Discard(),
		OnLinks: func(ls []Link) {
			h.mu.Lock()
			defer h.mu.Unlock()
			var names []string
			for _, l := range SelectInterfaces(ls, nil, DefaultExclude()) {
				names = append(names, l.Name)
			}
			h.chosen = append(h.chosen, names)
		},
		ListLinks: h.list,
		ListenARP: func(ifi *net.Interface, m *Metrics, log logr.Logger) (*ARPResponder, error) {
			c := newMemConn()
			h.mu.Lock()
			h.arps[ifi.Name] = c
			h.mu.Unlock()
			return NewARPResponder(ifi, c, m, log), nil
		},
		ListenNDP: func(ifi *net.Interface, m *Metrics, log logr.Logger) (*NDPResponder, error) {
			c := newFakeNDP()
			h.mu.Lock()
			h.ndps[ifi.Name] = c
			h.mu.Unlock()
			return NewNDPResponder(ifi, c, m, log), nil
		},
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 5s waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAnnouncer(t *testing.T) {
	up := net.FlagUp | net.FlagRunning | net.FlagBroadcast | net.FlagMulticast
	lanMAC := net.HardwareAddr{2, 0, 0, 0, 0, 0x11}
	h := &fakeHost{
		links: []Link{
			{Name: "lo", Index: 1, Flags: net.FlagUp | net.FlagRunning | net.FlagLoopback},
			{Name: "lan0", Index: 2, Flags: up, HardwareAddr: lanMAC, MTU: 1500},
			{Name: "veth9", Index: 3, Flags: up, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 0x99}, MTU: 1500},
		},
		arps: map[string]*memConn{},
		ndps: map[string]*fakeNDP{},
	}
	a, err := NewAnnouncer(h.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	v4, v4b, v6 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.20"), netip.MustParseAddr("2001:db8:200::10")
	a.Announce([]Announcement{{IP: v4}, {IP: v6}, {IP: v4b, Interfaces: []string{"veth9"}}})
	want := []Announced{{IP: v4, Interface: "lan0"}, {IP: v4b, Interface: "veth9"}, {IP: v6, Interface: "lan0"}}
	eventually(t, "the three announcements", func() bool { return len(a.Status()) == 3 })
	if diff := cmp.Diff(want, a.Status(), addrCmp); diff != "" {
		t.Errorf("Status mismatch (-want +got):\n%s", diff)
	}

	// Takeover burst: two rounds of (announcement, gratuitous reply) for v4 on lan0.
	lan := h.arp("lan0")
	for i := range 4 {
		if got := readARP(t, lan); got.SenderIP != v4 || got.TargetIP != v4 || got.FrameDst != "ff:ff:ff:ff:ff:ff" {
			t.Errorf("burst frame %d = %+v, want gratuitous ARP for %s", i, got, v4)
		}
	}
	for i := range 2 {
		if got := readNA(t, h.ndp("lan0")); got.Target != v6 || got.Dst != allNodes || !got.Override {
			t.Errorf("burst NA %d = %+v, want unsolicited NA with override for %s", i, got, v6)
		}
	}

	// Answers on lan0 for v4 only, on veth9 for v4b only.
	lan.in <- arpRequest(t, clientMAC, v4b)
	lan.in <- arpRequest(t, clientMAC, v4)
	if got := readARP(t, lan); got.SenderIP != v4 || got.SenderMAC != lanMAC.String() || got.Op != arp.OperationReply {
		t.Errorf("lan0 answered %+v, want a reply for %s from %s only", got, v4, lanMAC)
	}

	// lan0 loses its carrier: its responders go, OnLinks reports no default interface.
	h.setFlags("lan0", net.FlagUp|net.FlagBroadcast)
	eventually(t, "lan0's announcements to go", func() bool { return len(a.Status()) == 1 })
	if diff := cmp.Diff([]Announced{{IP: v4b, Interface: "veth9"}}, a.Status(), addrCmp); diff != "" {
		t.Errorf("Status after lan0 down (-want +got):\n%s", diff)
	}
	h.mu.Lock()
	last := h.chosen[len(h.chosen)-1]
	h.mu.Unlock()
	if len(last) != 0 {
		t.Errorf("OnLinks after lan0 down = %v, want no interface", last)
	}

	// lan0 back: a new responder answers again, with a new burst.
	h.setFlags("lan0", up)
	eventually(t, "lan0 back", func() bool { return len(a.Status()) == 3 })
	eventually(t, "a new ARP socket on lan0", func() bool { return h.arp("lan0") != lan })
	if got := readARP(t, h.arp("lan0")); got.SenderIP != v4 || got.TargetIP != v4 {
		t.Errorf("first frame after lan0 came back = %+v, want gratuitous ARP for %s", got, v4)
	}

	a.Announce(nil)
	if got := a.Status(); len(got) != 0 {
		t.Errorf("Status after Announce(nil) = %v, want nothing", got)
	}
}
