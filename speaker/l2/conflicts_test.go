package l2

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/arp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCoordinatorProbesOnlyIPsNobodyOwned(t *testing.T) {
	nodes := []string{"node-a", "node-b", "node-c"}
	var svcs []Service
	ip := netip.MustParseAddr("192.0.2.1")
	for range 30 {
		svcs = append(svcs, Service{IP: ip, Nodes: nodes})
		ip = ip.Next()
	}
	rec := &recordingAnnouncer{}
	c := NewCoordinator("node-a", rec, nil)
	c.SetServices(svcs)
	c.SetLive(nodes)
	first := map[netip.Addr]bool{}
	for _, a := range rec.last {
		first[a.IP] = true
		if !a.Probe {
			t.Errorf("%s, owned by nobody before, not probed", a.IP)
		}
	}
	// node-c leaves: what node-a takes from it is a takeover, answered at
	// once; what it owned already is unchanged.
	c.SetLive([]string{"node-a", "node-b"})
	took := 0
	for _, a := range rec.last {
		if first[a.IP] != a.Probe {
			t.Errorf("%s: probe %v, want %v (owned before: %v)", a.IP, a.Probe, first[a.IP], first[a.IP])
		}
		if !first[a.IP] {
			took++
		}
	}
	if took == 0 {
		t.Fatal("node-a took no IP from node-c: the test proves nothing")
	}
	// A new Service is probed.
	c.SetServices(append(svcs, Service{IP: netip.MustParseAddr("192.0.2.200"), Nodes: []string{"node-a"}}))
	for _, a := range rec.last {
		if a.IP == netip.MustParseAddr("192.0.2.200") && !a.Probe {
			t.Error("a new Service's IP is not probed")
		}
	}
}

// claimFrame is an ARP packet from mac using ip: a reply to a probe when
// to is set, else a gratuitous request.
func claimFrame(t *testing.T, mac net.HardwareAddr, ip netip.Addr, op arp.Operation) []byte {
	t.Helper()
	return arpFrame(t, op, mac, ip, make(net.HardwareAddr, 6), ip)
}

func TestAnnouncerConflict(t *testing.T) {
	up := net.FlagUp | net.FlagRunning | net.FlagBroadcast | net.FlagMulticast
	lanMAC := net.HardwareAddr{2, 0, 0, 0, 0, 0x11}
	squatter := net.HardwareAddr{2, 0, 0, 0, 0, 0x64}
	speaker2 := net.HardwareAddr{2, 0, 0, 0, 0, 0x12}
	h := &fakeHost{
		links: []Link{{Name: "lan0", Index: 2, Flags: up, HardwareAddr: lanMAC, MTU: 1500}},
		arps:  map[string]*memConn{},
		ndps:  map[string]*fakeNDP{},
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.config()
	cfg.Metrics = m
	cfg.Probe = ProbeConfig{Count: 2, Interval: 20 * time.Millisecond, Wait: 50 * time.Millisecond, Backoff: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	var friendsMu sync.Mutex
	cfg.Friendly = func() []net.HardwareAddr {
		friendsMu.Lock()
		defer friendsMu.Unlock()
		return []net.HardwareAddr{speaker2}
	}
	// notified records what OnConflicts is called with, as
	// "IP/MAC/answering", "-" for none.
	var notifiedMu sync.Mutex
	var notified []string
	cfg.OnConflicts = func(cs []Conflict) {
		notifiedMu.Lock()
		defer notifiedMu.Unlock()
		if len(cs) == 0 {
			notified = append(notified, "-")
		}
		for _, c := range cs {
			notified = append(notified, fmt.Sprintf("%s/%s/%v", c.IP, c.MAC, c.Answering))
		}
	}
	a, err := NewAnnouncer(cfg)
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

	vip := netip.MustParseAddr("192.0.2.10")
	a.Announce([]Announcement{{IP: vip, Probe: true}})
	eventually(t, "the ARP socket on lan0", func() bool { return h.arp("lan0") != nil })
	lan := h.arp("lan0")

	// A probe goes out first; nothing is answered meanwhile.
	probe := arpSeen{FrameDst: "ff:ff:ff:ff:ff:ff", FrameSrc: lanMAC.String(), Op: arp.OperationRequest, SenderMAC: lanMAC.String(),
		SenderIP: netip.IPv4Unspecified(), TargetMAC: "00:00:00:00:00:00", TargetIP: vip, SocketDst: "ff:ff:ff:ff:ff:ff"}
	if diff := cmp.Diff(probe, readARP(t, lan), addrCmp); diff != "" {
		t.Fatalf("first frame (-want +got):\n%s", diff)
	}
	if got := a.Status(); len(got) != 0 {
		t.Errorf("answering %v while probing", got)
	}
	// Another speaker's answer (the previous owner) is no conflict; the
	// squatter's is.
	lan.in <- claimFrame(t, speaker2, vip, arp.OperationReply)
	lan.in <- claimFrame(t, squatter, vip, arp.OperationReply)
	want := []Conflict{{IP: vip, Interface: "lan0", MAC: squatter}}
	eventually(t, "the conflict", func() bool { return len(a.Conflicts()) == 1 })
	if diff := cmp.Diff(want, a.Conflicts(), addrCmp, cmpopts.IgnoreFields(Conflict{}, "Since")); diff != "" {
		t.Errorf("Conflicts (-want +got):\n%s", diff)
	}
	if got := a.Status(); len(got) != 0 {
		t.Errorf("answering %v for an IP another host holds", got)
	}
	if got := testutil.ToFloat64(m.conflictsTotal.WithLabelValues("probe")); got != 1 {
		t.Errorf("herald_l2_ip_conflicts_total{detected=probe} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.conflictGauge.WithLabelValues(vip.String(), "lan0")); got != 1 {
		t.Errorf("herald_l2_address_conflict = %v, want 1", got)
	}
	// A client's request for the IP is not answered (the next frames
	// are probes).
	lan.in <- arpRequest(t, clientMAC, vip)

	// Re-probed after the backoff; the squatter gone, the IP is answered,
	// with the takeover burst.
	for i := range 2 {
		if got := readARP(t, lan); got.SenderIP != netip.IPv4Unspecified() || got.TargetIP != vip {
			t.Fatalf("re-probe frame %d = %+v, want a probe for %s", i, got, vip)
		}
	}
	eventually(t, "the IP answered", func() bool { return len(a.Status()) == 1 })
	if got := a.Conflicts(); len(got) != 0 {
		t.Errorf("Conflicts once free = %v, want none", got)
	}
	if got := readARP(t, lan); got.SenderIP != vip || got.TargetIP != vip || got.Op != arp.OperationRequest {
		t.Errorf("after the re-probe: %+v, want the gratuitous ARP of the takeover burst", got)
	}
	for range 3 { // the rest of the burst (h.config: two rounds of two)
		if got := readARP(t, lan); got.SenderIP != vip {
			t.Errorf("burst frame %+v, want gratuitous ARP for %s", got, vip)
		}
	}

	// A gratuitous ARP from the squatter while answering: reported, still
	// answered, no extra gratuitous ARP (no war): the next frames are the
	// re-probes.
	lan.in <- claimFrame(t, squatter, vip, arp.OperationRequest)
	eventually(t, "the contested conflict", func() bool { return len(a.Conflicts()) == 1 })
	want[0].Answering = true
	if diff := cmp.Diff(want, a.Conflicts(), addrCmp, cmpopts.IgnoreFields(Conflict{}, "Since")); diff != "" {
		t.Errorf("Conflicts (-want +got):\n%s", diff)
	}
	if got := a.Status(); len(got) != 1 {
		t.Errorf("Status while contested = %v, want still answering", got)
	}
	for range 2 {
		if got := readARP(t, lan); got.SenderIP != netip.IPv4Unspecified() {
			t.Fatalf("while contested, sent %+v, want only probes", got)
		}
	}
	eventually(t, "the contest cleared", func() bool { return len(a.Conflicts()) == 0 })
	if got := testutil.ToFloat64(m.conflictsTotal.WithLabelValues("announcing")); got != 1 {
		t.Errorf("herald_l2_ip_conflicts_total{detected=announcing} = %v, want 1", got)
	}
	// Every change was told at once, and nothing else.
	notifiedMu.Lock()
	defer notifiedMu.Unlock()
	wantNotified := []string{"192.0.2.10/02:00:00:00:00:64/false", "-", "192.0.2.10/02:00:00:00:00:64/true", "-"}
	if diff := cmp.Diff(wantNotified, notified); diff != "" {
		t.Errorf("OnConflicts calls (-want +got):\n%s", diff)
	}
}

// TestCoordinatorProbeDecision: which IPs this node probes before it
// answers them, as the Services and the live nodes arrive in turn, given
// the IPs herald answered for when it started.
func TestCoordinatorProbeDecision(t *testing.T) {
	a, b, n := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::3")
	// own: only node-a may answer; shared: node-a and node-b.
	own := func(ips ...netip.Addr) []Service {
		var out []Service
		for _, ip := range ips {
			out = append(out, Service{IP: ip, Nodes: []string{"node-a"}})
		}
		return out
	}
	shared := []Service{{IP: a, Nodes: []string{"node-a", "node-b"}}}
	services := func(s []Service) func(*Coordinator) { return func(c *Coordinator) { c.SetServices(s) } }
	live := func(l ...string) func(*Coordinator) { return func(c *Coordinator) { c.SetLive(l) } }
	for _, tc := range []struct {
		name   string
		before []netip.Addr
		steps  []func(*Coordinator)
		// want maps each IP announced at the end to whether it is probed.
		want map[netip.Addr]bool
	}{
		{"first start: every IP probed", nil,
			[]func(*Coordinator){services(own(a, n)), live("node-a")}, map[netip.Addr]bool{a: true, n: true}},
		{"restart: the IPs answered before are not probed, a new one is", []netip.Addr{a, n},
			[]func(*Coordinator){services(own(a, b, n)), live("node-a")}, map[netip.Addr]bool{a: false, b: true, n: false}},
		{"restart, membership before the Services", []netip.Addr{a},
			[]func(*Coordinator){live("node-a"), services(own(a, b))}, map[netip.Addr]bool{a: false, b: true}},
		{"restart, another node answered for it meanwhile: a hand-over", []netip.Addr{a},
			[]func(*Coordinator){services(shared), live("node-a", "node-b"), live("node-a")}, map[netip.Addr]bool{a: false}},
		{"takeover from a live node: not probed", nil,
			[]func(*Coordinator){services(shared), live("node-b"), live("node-a")}, map[netip.Addr]bool{a: false}},
		{"answered before is for start-up: deleted and created again, probed", []netip.Addr{a},
			[]func(*Coordinator){services(own(a)), live("node-a"), services(nil), services(own(a))}, map[netip.Addr]bool{a: true}},
		{"answered before, no Service at start, created later: probed", []netip.Addr{a},
			[]func(*Coordinator){services(own(b)), live("node-a"), services(own(a, b))}, map[netip.Addr]bool{a: true, b: true}},
		{"answered before, not live at first: still not probed when it joins", []netip.Addr{a},
			[]func(*Coordinator){services(own(a)), live("node-b"), live("node-a", "node-b")}, map[netip.Addr]bool{a: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingAnnouncer{}
			c := NewCoordinator("node-a", rec, nil)
			c.SetAnsweredBefore(tc.before)
			for _, step := range tc.steps {
				step(c)
			}
			got := map[netip.Addr]bool{}
			for _, ann := range rec.last {
				got[ann.IP] = ann.Probe
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("probed (-want +got):\n%s", d)
			}
		})
	}
}

func TestMustProbe(t *testing.T) {
	for _, tc := range []struct {
		name           string
		prevOwner      string
		answeredBefore bool
		want           bool
	}{
		{"nobody held it: a new Service, or the first start", "", false, true},
		{"another node owned it: failover or rebalance", "node-b", false, false},
		{"answered before this node restarted", "", true, false},
		{"both", "node-b", true, false},
	} {
		if got := MustProbe(tc.prevOwner, tc.answeredBefore); got != tc.want {
			t.Errorf("%s: MustProbe(%q, %v) = %v, want %v", tc.name, tc.prevOwner, tc.answeredBefore, got, tc.want)
		}
	}
}
