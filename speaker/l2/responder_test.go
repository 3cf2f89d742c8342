package l2

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var (
	nodeMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x11}
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x64}
	testIfi   = &net.Interface{Index: 7, Name: "lan0", HardwareAddr: nodeMAC, MTU: 1500, Flags: net.FlagUp | net.FlagBroadcast | net.FlagRunning}
	clientIP  = netip.MustParseAddr("198.51.100.100")
	addrCmp   = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
)

func arpRequest(t *testing.T, from net.HardwareAddr, target netip.Addr) []byte {
	t.Helper()
	p, err := arp.NewPacket(arp.OperationRequest, from, clientIP, ethernet.Broadcast, target)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := p.MarshalBinary()
	fb, err := (&ethernet.Frame{Destination: ethernet.Broadcast, Source: from, EtherType: ethernet.EtherTypeARP, Payload: pb}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return fb
}

// arpSeen is what a test checks in a frame the responder sent.
type arpSeen struct {
	FrameDst, FrameSrc string
	Op                 arp.Operation
	SenderMAC          string
	SenderIP           netip.Addr
	TargetMAC          string
	TargetIP           netip.Addr
	SocketDst          string
}

func readARP(t *testing.T, c *memConn) arpSeen {
	t.Helper()
	select {
	case f := <-c.out:
		var fr ethernet.Frame
		if err := fr.UnmarshalBinary(f.b); err != nil {
			t.Fatalf("decoding frame sent: %v", err)
		}
		var p arp.Packet
		if err := p.UnmarshalBinary(fr.Payload); err != nil {
			t.Fatalf("decoding ARP sent: %v", err)
		}
		return arpSeen{
			FrameDst: fr.Destination.String(), FrameSrc: fr.Source.String(), Op: p.Operation,
			SenderMAC: p.SenderHardwareAddr.String(), SenderIP: p.SenderIP,
			TargetMAC: p.TargetHardwareAddr.String(), TargetIP: p.TargetIP,
			SocketDst: f.dst.(*packet.Addr).HardwareAddr.String(),
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no frame sent within 5s")
	}
	return arpSeen{}
}

func startARP(t *testing.T, reg prometheus.Registerer) (*ARPResponder, *memConn) {
	t.Helper()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c := newMemConn()
	r := NewARPResponder(testIfi, c, m, logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	})
	return r, c
}

func TestARPResponder(t *testing.T) {
	owned := netip.MustParseAddr("192.0.2.10")
	other := netip.MustParseAddr("192.0.2.11")
	reply := arpSeen{
		FrameDst: clientMAC.String(), FrameSrc: nodeMAC.String(), Op: arp.OperationReply,
		SenderMAC: nodeMAC.String(), SenderIP: owned, TargetMAC: clientMAC.String(), TargetIP: clientIP,
		SocketDst: clientMAC.String(),
	}
	tests := []struct {
		name string
		// ignored are requests sent first that must get no answer; the
		// request for owned that follows must be the first answered.
		ignored [][]byte
	}{
		{name: "owned IP answered"},
		{name: "other IP not answered", ignored: [][]byte{nil}},
		{name: "own requests not answered", ignored: [][]byte{nil, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			r, c := startARP(t, reg)
			r.SetIPs([]netip.Addr{owned, netip.MustParseAddr("2001:db8:200::1")})
			if len(tc.ignored) > 0 {
				c.in <- arpRequest(t, clientMAC, other)
			}
			if len(tc.ignored) > 1 {
				c.in <- arpRequest(t, nodeMAC, owned)
			}
			c.in <- arpRequest(t, clientMAC, owned)
			if diff := cmp.Diff(reply, readARP(t, c), addrCmp); diff != "" {
				t.Errorf("reply mismatch (-want +got):\n%s", diff)
			}
			// The counter is bumped once the reply is written.
			eventually(t, "requests answered = 1", func() bool {
				return testutil.ToFloat64(r.metrics.requestsAnswered.WithLabelValues("arp", "lan0")) == 1
			})
		})
	}
}

func TestARPResponderStopsAtOnce(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.20")
	r, c := startARP(t, prometheus.NewRegistry())
	r.SetIPs([]netip.Addr{a})
	r.SetIPs([]netip.Addr{b})
	if err := r.Gratuitous(a); !errors.Is(err, ErrNotOwned) {
		t.Errorf("Gratuitous(lost IP) = %v, want ErrNotOwned", err)
	}
	c.in <- arpRequest(t, clientMAC, a)
	c.in <- arpRequest(t, clientMAC, b)
	if got := readARP(t, c); got.SenderIP != b {
		t.Errorf("first answer is for %s, want %s (the lost IP %s must not be answered)", got.SenderIP, b, a)
	}
}

func TestARPGratuitous(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.10")
	reg := prometheus.NewRegistry()
	r, c := startARP(t, reg)
	r.SetIPs([]netip.Addr{ip})
	if err := r.Gratuitous(ip); err != nil {
		t.Fatal(err)
	}
	bcast := ethernet.Broadcast.String()
	want := []arpSeen{
		{FrameDst: bcast, FrameSrc: nodeMAC.String(), Op: arp.OperationRequest, SenderMAC: nodeMAC.String(), SenderIP: ip, TargetMAC: "00:00:00:00:00:00", TargetIP: ip, SocketDst: bcast},
		{FrameDst: bcast, FrameSrc: nodeMAC.String(), Op: arp.OperationReply, SenderMAC: nodeMAC.String(), SenderIP: ip, TargetMAC: nodeMAC.String(), TargetIP: ip, SocketDst: bcast},
	}
	got := []arpSeen{readARP(t, c), readARP(t, c)}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("gratuitous ARP mismatch (-want +got):\n%s", diff)
	}
	if n := testutil.ToFloat64(r.metrics.gratuitousSent.WithLabelValues("arp", "lan0")); n != 2 {
		t.Errorf("gratuitous sent = %v, want 2", n)
	}
}

func startNDP(t *testing.T) (*NDPResponder, *fakeNDP) {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	c := newFakeNDP()
	r := NewNDPResponder(testIfi, c, m, logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	})
	return r, c
}

// naSeen is what a test checks in an advertisement the responder sent.
type naSeen struct {
	Dst                 netip.Addr
	Solicited, Override bool
	Target              netip.Addr
	TargetMAC           string
}

func readNA(t *testing.T, c *fakeNDP) naSeen {
	t.Helper()
	select {
	case o := <-c.out:
		na, ok := o.m.(*ndp.NeighborAdvertisement)
		if !ok {
			t.Fatalf("sent %T, want a neighbor advertisement", o.m)
		}
		s := naSeen{Dst: o.dst, Solicited: na.Solicited, Override: na.Override, Target: na.TargetAddress}
		for _, opt := range na.Options {
			if lla, ok := opt.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
				s.TargetMAC = lla.Addr.String()
			}
		}
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no message sent within 5s")
	}
	return naSeen{}
}

func TestNDPResponder(t *testing.T) {
	owned := netip.MustParseAddr("2001:db8:200::10")
	other := netip.MustParseAddr("2001:db8:200::11")
	client := netip.MustParseAddr("fe80::64%lan0")
	tests := []struct {
		name    string
		ignored []netip.Addr // solicitations sent first that must get no answer
		src     netip.Addr
		want    naSeen
	}{
		{
			name: "owned IP answered, solicited with override",
			src:  client,
			want: naSeen{Dst: client, Solicited: true, Override: true, Target: owned, TargetMAC: nodeMAC.String()},
		},
		{
			name:    "other IP not answered",
			ignored: []netip.Addr{other, netip.MustParseAddr("192.0.2.10")},
			src:     client,
			want:    naSeen{Dst: client, Solicited: true, Override: true, Target: owned, TargetMAC: nodeMAC.String()},
		},
		{
			name: "duplicate address detection answered to all nodes",
			src:  netip.IPv6Unspecified(),
			want: naSeen{Dst: allNodes, Solicited: false, Override: true, Target: owned, TargetMAC: nodeMAC.String()},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, c := startNDP(t)
			if err := r.SetIPs([]netip.Addr{owned, netip.MustParseAddr("192.0.2.10")}); err != nil {
				t.Fatal(err)
			}
			for _, ip := range tc.ignored {
				c.in <- ndpIn{m: &ndp.NeighborSolicitation{TargetAddress: ip}, src: tc.src}
			}
			c.in <- ndpIn{m: &ndp.NeighborSolicitation{TargetAddress: owned}, src: tc.src}
			if diff := cmp.Diff(tc.want, readNA(t, c), addrCmp); diff != "" {
				t.Errorf("advertisement mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNDPGroups(t *testing.T) {
	// 2001:db8:200::1:5 and 2001:db8:300::1:5 share a solicited-node group.
	a, b, c := netip.MustParseAddr("2001:db8:200::1:5"), netip.MustParseAddr("2001:db8:300::1:5"), netip.MustParseAddr("2001:db8:200::9")
	ga, gc := netip.MustParseAddr("ff02::1:ff01:5"), netip.MustParseAddr("ff02::1:ff00:9")
	steps := []struct {
		name string
		ips  []netip.Addr
		want []netip.Addr
	}{
		{name: "join for each IP", ips: []netip.Addr{a, c}, want: []netip.Addr{gc, ga}},
		{name: "shared group kept while one IP needs it", ips: []netip.Addr{a, b}, want: []netip.Addr{ga}},
		{name: "shared group kept after one of its IPs goes", ips: []netip.Addr{b}, want: []netip.Addr{ga}},
		{name: "left when no IP needs it", ips: nil, want: []netip.Addr{}},
	}
	r, conn := startNDP(t)
	for _, s := range steps {
		if err := r.SetIPs(s.ips); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		conn.mu.Lock()
		joined := make([]netip.Addr, 0, len(conn.joined))
		for g := range conn.joined {
			joined = append(joined, g)
		}
		conn.mu.Unlock()
		var set ipSet
		set.replace(joined)
		if diff := cmp.Diff(s.want, set.list(), addrCmp); diff != "" {
			t.Errorf("%s: groups joined on the socket (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.want, r.Groups(), addrCmp); diff != "" {
			t.Errorf("%s: Groups() (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestNDPGratuitous(t *testing.T) {
	ip := netip.MustParseAddr("2001:db8:200::10")
	r, c := startNDP(t)
	if err := r.Gratuitous(ip); !errors.Is(err, ErrNotOwned) {
		t.Errorf("Gratuitous before owning = %v, want ErrNotOwned", err)
	}
	if err := r.SetIPs([]netip.Addr{ip}); err != nil {
		t.Fatal(err)
	}
	if err := r.Gratuitous(ip); err != nil {
		t.Fatal(err)
	}
	want := naSeen{Dst: allNodes, Solicited: false, Override: true, Target: ip, TargetMAC: nodeMAC.String()}
	if diff := cmp.Diff(want, readNA(t, c), addrCmp); diff != "" {
		t.Errorf("unsolicited advertisement mismatch (-want +got):\n%s", diff)
	}
	if n := testutil.ToFloat64(r.metrics.gratuitousSent.WithLabelValues("ndp", "lan0")); n != 1 {
		t.Errorf("gratuitous sent = %v, want 1", n)
	}
}

func TestNDPFromTarget(t *testing.T) {
	ip := netip.MustParseAddr("2001:db8:200::10")
	r, c := startNDP(t)
	r.fromTarget = true
	if err := r.SetIPs([]netip.Addr{ip}); err != nil {
		t.Fatal(err)
	}
	c.in <- ndpIn{m: &ndp.NeighborSolicitation{TargetAddress: ip}, src: netip.MustParseAddr("fe80::64%lan0")}
	select {
	case o := <-c.out:
		if o.cm == nil || !o.cm.Src.Equal(ip.AsSlice()) || o.cm.HopLimit != 255 || o.cm.IfIndex != testIfi.Index {
			t.Errorf("control message %+v, want source %s, hop limit 255, interface %d", o.cm, ip, testIfi.Index)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no advertisement within 5s")
	}
}
