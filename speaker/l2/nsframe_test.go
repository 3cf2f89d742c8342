package l2

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/bpf"
)

// nsFrame builds an Ethernet frame holding a Neighbor Solicitation for
// target from src to dst, with a correct checksum.
func nsFrame(t *testing.T, src, dst, target netip.Addr, dstMAC string) []byte {
	t.Helper()
	msg, err := ndp.MarshalMessage(&ndp.NeighborSolicitation{TargetAddress: target, Options: []ndp.Option{
		&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: net.HardwareAddr{2, 0, 0, 0, 0, 0x64}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := icmpv6Checksum(src, dst, msg) // checksum field is zero
	binary.BigEndian.PutUint16(msg[2:4], ^s)
	mac, _ := net.ParseMAC(dstMAC)
	f := append([]byte{}, mac...)
	f = append(f, 2, 0, 0, 0, 0, 0x64, 0x86, 0xdd)
	ip := make([]byte, ipv6HeaderLen)
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(msg)))
	ip[6], ip[7] = protoICMPv6, ndp.HopLimit
	s16, d16 := src.As16(), dst.As16()
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
	return append(append(f, ip...), msg...)
}

func TestParseNSFrame(t *testing.T) {
	client := netip.MustParseAddr("2001:db8:100::100")
	vip := netip.MustParseAddr("2001:db8:200::10")
	group, _ := ndp.SolicitedNodeMulticast(vip)
	filter, err := ndpFilter(1514)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(mustDisassemble(t, filter))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		frame  func() []byte
		wantOK bool
	}{
		{"multicast to the solicited-node group", func() []byte { return nsFrame(t, client, group, vip, "33:33:ff:00:00:10") }, true},
		{"unicast to the Service IP (NUD)", func() []byte { return nsFrame(t, client, vip, vip, "02:00:00:00:00:0b") }, true},
		{"forwarded: hop limit 254", func() []byte {
			f := nsFrame(t, client, vip, vip, "02:00:00:00:00:0b")
			f[ethHeaderLen+7] = 254
			return f
		}, false},
		{"bad checksum", func() []byte {
			f := nsFrame(t, client, vip, vip, "02:00:00:00:00:0b")
			f[len(f)-1] ^= 1
			return f
		}, false},
		{"truncated", func() []byte { return nsFrame(t, client, vip, vip, "02:00:00:00:00:0b")[:60] }, false},
		{"an advertisement with a bad checksum", func() []byte {
			f := nsFrame(t, client, vip, vip, "02:00:00:00:00:0b")
			f[offICMPv6Type] = icmpv6TypeNA
			return f
		}, false},
		{"an echo request", func() []byte {
			f := nsFrame(t, client, vip, vip, "02:00:00:00:00:0b")
			f[offICMPv6Type] = 128
			return f
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.frame()
			m, src, ok := parseNDPFrame(f)
			if ok != tc.wantOK {
				t.Fatalf("parseNDPFrame ok = %v, want %v", ok, tc.wantOK)
			}
			if ns, _ := m.(*ndp.NeighborSolicitation); ok && (ns == nil || ns.TargetAddress != vip || src != client) {
				t.Errorf("parseNDPFrame = %v from %s, want a solicitation for %s from %s", m, src, vip, client)
			}
			// The socket filter keeps every solicitation and advertisement
			// (validity is parseNDPFrame's job) and drops other ICMPv6.
			kept, err := vm.Run(f)
			if err != nil {
				t.Fatal(err)
			}
			if wantKept := f[offICMPv6Type] == icmpv6TypeNS || f[offICMPv6Type] == icmpv6TypeNA; (kept > 0) != wantKept {
				t.Errorf("filter kept %d bytes, want kept: %v", kept, wantKept)
			}
		})
	}
}

func mustDisassemble(t *testing.T, raw []bpf.RawInstruction) []bpf.Instruction {
	t.Helper()
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("the NDP filter does not disassemble")
	}
	return ins
}
