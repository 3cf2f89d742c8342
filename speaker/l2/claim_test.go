package l2

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

func arpFrame(t *testing.T, op arp.Operation, sha net.HardwareAddr, sip netip.Addr, tha net.HardwareAddr, tip netip.Addr) []byte {
	t.Helper()
	p, err := arp.NewPacket(op, sha, sip, tha, tip)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f, err := (&ethernet.Frame{Destination: ethernet.Broadcast, Source: sha, EtherType: ethernet.EtherTypeARP, Payload: pb}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseARPClaim(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.10")
	client := netip.MustParseAddr("198.51.100.100")
	squatter := net.HardwareAddr{2, 0, 0, 0, 0, 0x64}
	node := net.HardwareAddr{2, 0, 0, 0, 0, 0x0b}
	zero := make(net.HardwareAddr, 6)
	probe, err := ARPProbe(squatter, vip)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		frame []byte
		want  Claim
		ok    bool
	}{
		{"gratuitous request (arping -U)", arpFrame(t, arp.OperationRequest, squatter, vip, zero, vip), Claim{IP: vip, MAC: squatter, Kind: ClaimUse}, true},
		{"gratuitous reply (arping -A)", arpFrame(t, arp.OperationReply, squatter, vip, squatter, vip), Claim{IP: vip, MAC: squatter, Kind: ClaimUse}, true},
		{"the answer to a probe", arpFrame(t, arp.OperationReply, squatter, vip, node, netip.IPv4Unspecified()), Claim{IP: vip, MAC: squatter, Kind: ClaimUse}, true},
		{"a request from a host using the IP", arpFrame(t, arp.OperationRequest, squatter, vip, zero, client), Claim{IP: vip, MAC: squatter, Kind: ClaimUse}, true},
		{"a probe", probe, Claim{IP: vip, MAC: squatter, Kind: ClaimProbe}, true},
		{"a client's request for the IP claims the client's own", arpFrame(t, arp.OperationRequest, squatter, client, zero, vip), Claim{IP: client, MAC: squatter, Kind: ClaimUse}, true},
		{"not ARP", append(bytes.Clone(probe[:12]), 0x86, 0xdd), Claim{}, false},
		{"truncated", probe[:20], Claim{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseARPClaim(tc.frame)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got, addrCmp); diff != "" {
				t.Errorf("claim (-want +got):\n%s", diff)
			}
		})
	}
}

func TestARPProbe(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 0x0b}
	vip := netip.MustParseAddr("192.0.2.10")
	f, err := ARPProbe(mac, vip)
	if err != nil {
		t.Fatal(err)
	}
	var fr ethernet.Frame
	if err := fr.UnmarshalBinary(f); err != nil {
		t.Fatal(err)
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(fr.Payload); err != nil {
		t.Fatal(err)
	}
	// RFC 5227 2.1.1: a request, sender hardware address ours, sender IP
	// all zeroes, target hardware address all zeroes, target IP probed,
	// broadcast.
	want := arp.Packet{HardwareType: 1, ProtocolType: uint16(ethernet.EtherTypeIPv4), HardwareAddrLength: 6, IPLength: 4,
		Operation: arp.OperationRequest, SenderHardwareAddr: mac, SenderIP: netip.IPv4Unspecified(),
		TargetHardwareAddr: make(net.HardwareAddr, 6), TargetIP: vip}
	if diff := cmp.Diff(want, p, addrCmp); diff != "" {
		t.Errorf("probe (-want +got):\n%s", diff)
	}
	if !bytes.Equal(fr.Destination, ethernet.Broadcast) || !bytes.Equal(fr.Source, mac) {
		t.Errorf("probe from %s to %s, want from %s to broadcast", fr.Source, fr.Destination, mac)
	}
	if _, err := ARPProbe(mac, netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Error("ARPProbe of an IPv6 address: no error")
	}
}

func TestDADProbe(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 0x0b}
	vip := netip.MustParseAddr("2001:db8:200::10")
	f, dst, err := DADProbe(mac, vip)
	if err != nil {
		t.Fatal(err)
	}
	if want := (net.HardwareAddr{0x33, 0x33, 0xff, 0, 0, 0x10}); !bytes.Equal(dst, want) || !bytes.Equal(f[0:6], want) {
		t.Errorf("destination %s (frame %s), want %s", dst, net.HardwareAddr(f[0:6]), want)
	}
	// It is a valid solicitation (hop limit, checksum) from :: to the
	// solicited-node group, with no link-layer option, as parseNDPFrame
	// and NDPClaim read it.
	m, src, ok := parseNDPFrame(f)
	if !ok {
		t.Fatal("parseNDPFrame: not a valid NDP frame")
	}
	group, _ := ndp.SolicitedNodeMulticast(vip)
	if got := netip.AddrFrom16([16]byte(f[ethHeaderLen+24 : ethHeaderLen+40])); got != group {
		t.Errorf("IPv6 destination %s, want %s", got, group)
	}
	if diff := cmp.Diff(&ndp.NeighborSolicitation{TargetAddress: vip}, m, addrCmp); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	c, ok := NDPClaim(m, src, mac)
	if want := (Claim{IP: vip, MAC: mac, Kind: ClaimProbe}); !ok || !cmp.Equal(want, c, addrCmp) {
		t.Errorf("NDPClaim = %v, %v; want %v", c, ok, want)
	}
	if _, _, err := DADProbe(mac, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("DADProbe of an IPv4 address: no error")
	}
}

func TestNDPClaim(t *testing.T) {
	vip := netip.MustParseAddr("2001:db8:200::10")
	client := netip.MustParseAddr("2001:db8:100::100")
	squatter := net.HardwareAddr{2, 0, 0, 0, 0, 0x64}
	tll := &ndp.LinkLayerAddress{Direction: ndp.Target, Addr: squatter}
	sll := &ndp.LinkLayerAddress{Direction: ndp.Source, Addr: squatter}
	tests := []struct {
		name string
		m    ndp.Message
		src  netip.Addr
		want Claim
		ok   bool
	}{
		{"unsolicited advertisement", &ndp.NeighborAdvertisement{Override: true, TargetAddress: vip, Options: []ndp.Option{tll}}, vip, Claim{IP: vip, MAC: squatter, Kind: ClaimUse}, true},
		{"advertisement with no target link-layer address", &ndp.NeighborAdvertisement{TargetAddress: vip}, vip, Claim{}, false},
		{"solicitation from the IP", &ndp.NeighborSolicitation{TargetAddress: client, Options: []ndp.Option{sll}}, vip, Claim{IP: vip, MAC: squatter, Kind: ClaimUse}, true},
		{"a client's solicitation for the IP", &ndp.NeighborSolicitation{TargetAddress: vip, Options: []ndp.Option{sll}}, client, Claim{IP: client, MAC: squatter, Kind: ClaimUse}, true},
		{"duplicate address detection", &ndp.NeighborSolicitation{TargetAddress: vip}, netip.IPv6Unspecified(), Claim{IP: vip, MAC: squatter, Kind: ClaimProbe}, true},
		{"a router solicitation", &ndp.RouterSolicitation{}, client, Claim{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NDPClaim(tc.m, tc.src, squatter)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got, addrCmp); diff != "" {
				t.Errorf("claim (-want +got):\n%s", diff)
			}
		})
	}
}
