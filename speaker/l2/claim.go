package l2

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// ClaimKind says how another host showed it holds, or wants, an IP.
type ClaimKind int

const (
	// ClaimUse: an ARP packet with the IP as sender address (a reply, a
	// request, a gratuitous ARP), a Neighbor Advertisement for it, or a
	// Neighbor Solicitation sent from it: the host uses the IP. An answer
	// to this node's probe is one.
	ClaimUse ClaimKind = iota + 1
	// ClaimProbe: an ARP probe (sender address 0.0.0.0) or a duplicate
	// address detection solicitation (from ::) for the IP: the host is
	// about to take it. A conflict only while this node probes too (RFC
	// 5227 2.1.1); once this node answers, its answer is what the other
	// host's probe is for.
	ClaimProbe
)

// Claim is a packet from another host about an IP, seen on an interface.
type Claim struct {
	IP   netip.Addr
	MAC  net.HardwareAddr
	Kind ClaimKind
}

// ParseARPClaim returns the claim an Ethernet frame carrying ARP makes:
// ClaimUse for any ARP packet whose sender IP is set, ClaimProbe for an ARP
// probe (sender IP 0.0.0.0) for its target IP.
func ParseARPClaim(frame []byte) (Claim, bool) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil || f.EtherType != ethernet.EtherTypeARP {
		return Claim{}, false
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return Claim{}, false
	}
	if p.SenderIP.IsUnspecified() {
		if p.Operation != arp.OperationRequest || !p.TargetIP.Is4() || p.TargetIP.IsUnspecified() {
			return Claim{}, false
		}
		return Claim{IP: p.TargetIP, MAC: p.SenderHardwareAddr, Kind: ClaimProbe}, true
	}
	return Claim{IP: p.SenderIP.Unmap(), MAC: p.SenderHardwareAddr, Kind: ClaimUse}, true
}

// NDPClaim returns the claim an NDP message from src makes: ClaimUse for a
// Neighbor Advertisement with a target link-layer address (without one the
// other host's MAC is unknown, and it is ignored) and for a Neighbor
// Solicitation from an address with a source link-layer address,
// ClaimProbe for a duplicate address detection solicitation (from ::),
// whose MAC is the Ethernet source ethSrc.
func NDPClaim(m ndp.Message, src netip.Addr, ethSrc net.HardwareAddr) (Claim, bool) {
	switch m := m.(type) {
	case *ndp.NeighborAdvertisement:
		if mac := linkLayer(m.Options, ndp.Target); mac != nil {
			return Claim{IP: m.TargetAddress.WithZone(""), MAC: mac, Kind: ClaimUse}, true
		}
	case *ndp.NeighborSolicitation:
		if src.WithZone("").IsUnspecified() {
			if ethSrc == nil {
				return Claim{}, false
			}
			return Claim{IP: m.TargetAddress.WithZone(""), MAC: ethSrc, Kind: ClaimProbe}, true
		}
		if mac := linkLayer(m.Options, ndp.Source); mac != nil {
			return Claim{IP: src.WithZone(""), MAC: mac, Kind: ClaimUse}, true
		}
	}
	return Claim{}, false
}

func linkLayer(opts []ndp.Option, dir ndp.Direction) net.HardwareAddr {
	for _, o := range opts {
		if l, ok := o.(*ndp.LinkLayerAddress); ok && l.Direction == dir && len(l.Addr) == 6 {
			return l.Addr
		}
	}
	return nil
}

// ARPProbe is the Ethernet frame of an RFC 5227 ARP probe for ip from mac:
// a broadcast request with sender IP 0.0.0.0 and a zero target MAC, which
// no host puts in its cache, and which the host using ip answers.
func ARPProbe(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if !ip.Unmap().Is4() {
		return nil, fmt.Errorf("ARP probe for %s: not an IPv4 address", ip)
	}
	p, err := arp.NewPacket(arp.OperationRequest, mac, netip.IPv4Unspecified(), make(net.HardwareAddr, 6), ip.Unmap())
	if err != nil {
		return nil, fmt.Errorf("building ARP probe for %s: %w", ip, err)
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encoding ARP probe for %s: %w", ip, err)
	}
	f := ethernet.Frame{Destination: ethernet.Broadcast, Source: mac, EtherType: ethernet.EtherTypeARP, Payload: pb}
	return f.MarshalBinary()
}

// DADProbe is the Ethernet frame of a duplicate address detection Neighbor
// Solicitation for ip from mac (RFC 4862 5.4.2): from ::, to ip's
// solicited-node group, with no source link-layer address option, hop
// limit 255. The host using ip answers with an advertisement to all nodes.
// It also returns the frame's destination MAC.
func DADProbe(mac net.HardwareAddr, ip netip.Addr) ([]byte, net.HardwareAddr, error) {
	ip = ip.WithZone("")
	if !ip.Is6() || ip.Is4In6() {
		return nil, nil, fmt.Errorf("duplicate address detection for %s: not an IPv6 address", ip)
	}
	group, err := ndp.SolicitedNodeMulticast(ip)
	if err != nil {
		return nil, nil, fmt.Errorf("duplicate address detection for %s: %w", ip, err)
	}
	msg, err := ndp.MarshalMessage(&ndp.NeighborSolicitation{TargetAddress: ip})
	if err != nil {
		return nil, nil, fmt.Errorf("building neighbor solicitation for %s: %w", ip, err)
	}
	g := group.As16()
	dst := net.HardwareAddr{0x33, 0x33, g[12], g[13], g[14], g[15]}
	src := netip.IPv6Unspecified()
	binary.BigEndian.PutUint16(msg[2:4], 0)
	binary.BigEndian.PutUint16(msg[2:4], ^icmpv6Checksum(src, group, msg))

	b := make([]byte, 0, ethHeaderLen+ipv6HeaderLen+len(msg))
	b = append(b, dst...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, 0x86dd)
	b = append(b, 0x60, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	b = append(b, protoICMPv6, ndp.HopLimit)
	s := src.As16()
	b = append(b, s[:]...)
	b = append(b, g[:]...)
	b = append(b, msg...)
	return b, dst, nil
}
