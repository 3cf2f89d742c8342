package l2

import (
	"encoding/binary"
	"net/netip"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/bpf"
)

// Offsets in an Ethernet frame carrying IPv6 with no extension header.
const (
	ethHeaderLen   = 14
	ipv6HeaderLen  = 40
	offNextHeader  = ethHeaderLen + 6
	offICMPv6Type  = ethHeaderLen + ipv6HeaderLen
	protoICMPv6    = 58
	icmpv6TypeNS   = 135
	icmpv6TypeNA   = 136
	minNSFrameSize = ethHeaderLen + ipv6HeaderLen + 24
)

// ndpFilter is a BPF program, for a packet socket bound to IPv6, keeping only
// ICMPv6 Neighbor Solicitations (to answer) and Advertisements (claims of
// another host, see NDPClaim).
func ndpFilter(snap uint32) ([]bpf.RawInstruction, error) {
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: offNextHeader, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: protoICMPv6, SkipTrue: 4},
		bpf.LoadAbsolute{Off: offICMPv6Type, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: icmpv6TypeNS, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: icmpv6TypeNA, SkipTrue: 1},
		bpf.RetConstant{Val: snap},
		bpf.RetConstant{Val: 0},
	})
}

// parseNDPFrame returns the Neighbor Solicitation or Advertisement an
// Ethernet frame holds and its IPv6 source, if the frame is a valid one:
// IPv6 with no extension header, hop limit 255 (RFC 4861 7.1.1: it was not
// forwarded), a correct ICMPv6 checksum.
func parseNDPFrame(f []byte) (ndp.Message, netip.Addr, bool) {
	if len(f) < minNSFrameSize || binary.BigEndian.Uint16(f[12:14]) != 0x86dd {
		return nil, netip.Addr{}, false
	}
	ip := f[ethHeaderLen:]
	if ip[0]>>4 != 6 || ip[6] != protoICMPv6 || ip[7] != ndp.HopLimit {
		return nil, netip.Addr{}, false
	}
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if ipv6HeaderLen+plen > len(ip) {
		return nil, netip.Addr{}, false
	}
	payload := ip[ipv6HeaderLen : ipv6HeaderLen+plen]
	src, dst := netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
	if icmpv6Checksum(src, dst, payload) != 0xffff {
		return nil, netip.Addr{}, false
	}
	m, err := ndp.ParseMessage(payload)
	if err != nil {
		return nil, netip.Addr{}, false
	}
	switch m.(type) {
	case *ndp.NeighborSolicitation, *ndp.NeighborAdvertisement:
		return m, src, true
	}
	return nil, netip.Addr{}, false
}

// icmpv6Checksum is the ones' complement sum, folded, of the IPv6 pseudo
// header and the ICMPv6 message (checksum field included): 0xffff when the
// checksum is right.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	var l [8]byte
	binary.BigEndian.PutUint32(l[0:4], uint32(len(msg)))
	l[7] = protoICMPv6
	add(l[:])
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
