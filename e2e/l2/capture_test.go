package l2

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	macA     = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	macB     = net.HardwareAddr{2, 0, 0, 0, 0, 0xb}
	macC     = net.HardwareAddr{2, 0, 0, 0, 0, 0xc}
	vip4     = netip.MustParseAddr("192.0.2.10")
	vip6     = netip.MustParseAddr("2001:db8:200::10")
	clientIP = netip.MustParseAddr("198.51.100.100")
)

// addrs compares netip.Addr values, whose fields are unexported.
var addrs = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func arpFrame(op uint16, sha net.HardwareAddr, spa netip.Addr, tpa netip.Addr) []byte {
	f := append(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, sha...), 0x08, 0x06)
	f = binary.BigEndian.AppendUint16(f, 1)
	f = binary.BigEndian.AppendUint16(f, 0x0800)
	f = append(f, 6, 4)
	f = binary.BigEndian.AppendUint16(f, op)
	f = append(append(f, sha...), spa.AsSlice()...)
	f = append(append(f, make([]byte, 6)...), tpa.AsSlice()...)
	return f
}

func naFrame(src net.HardwareAddr, target netip.Addr, icmpType byte) []byte {
	f := append(append([]byte{0x33, 0x33, 0, 0, 0, 1}, src...), 0x86, 0xdd)
	ip6 := make([]byte, 40)
	ip6[0], ip6[6], ip6[7] = 0x60, 58, 255
	f = append(f, ip6...)
	f = append(f, icmpType, 0, 0, 0, 0xa0, 0, 0, 0)
	return append(f, target.AsSlice()...)
}

// pcap writes frames as a classic pcap file, one per millisecond from t0.
func pcap(order binary.ByteOrder, nano bool, t0 time.Time, frames ...[]byte) []byte {
	var b bytes.Buffer
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	hdr := make([]byte, 24)
	order.PutUint32(hdr[0:], magic)
	order.PutUint16(hdr[4:], 2)
	order.PutUint16(hdr[6:], 4)
	order.PutUint32(hdr[16:], 262144)
	order.PutUint32(hdr[20:], linkEthernet)
	b.Write(hdr)
	for i, f := range frames {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		frac := uint32(at.Nanosecond())
		if !nano {
			frac /= 1000
		}
		rec := make([]byte, 16)
		order.PutUint32(rec[0:], uint32(at.Unix()))
		order.PutUint32(rec[4:], frac)
		order.PutUint32(rec[8:], uint32(len(f)))
		order.PutUint32(rec[12:], uint32(len(f)))
		b.Write(rec)
		b.Write(f)
	}
	return b.Bytes()
}

func TestParsePcap(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	ms := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }
	frames := [][]byte{
		arpFrame(1, macC, clientIP, vip4),                 // the client's request: not an answer
		arpFrame(2, macA, vip4, clientIP),                 // reply
		arpFrame(1, macB, vip4, vip4),                     // gratuitous request
		arpFrame(2, macB, vip4, vip4),                     // gratuitous reply
		naFrame(macA, vip6, 136),                          // NA
		naFrame(macC, vip6, 135),                          // NS: not an answer
		{0x01, 0x02},                                      // runt
		append(arpFrame(2, macA, vip4, clientIP)[:20], 0), // truncated ARP
	}
	want := []Answer{
		{At: ms(1), IP: vip4, MAC: macA.String(), Kind: "arp-reply"},
		{At: ms(2), IP: vip4, MAC: macB.String(), Kind: "garp"},
		{At: ms(3), IP: vip4, MAC: macB.String(), Kind: "garp"},
		{At: ms(4), IP: vip6, MAC: macA.String(), Kind: "na"},
	}
	for _, tc := range []struct {
		name  string
		order binary.ByteOrder
		nano  bool
		cut   int // bytes cut off the end
	}{
		{name: "little endian, microseconds", order: binary.LittleEndian},
		{name: "big endian, nanoseconds", order: binary.BigEndian, nano: true},
		{name: "partial last record", order: binary.LittleEndian, cut: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pcap(tc.order, tc.nano, t0, frames...)
			got, err := ParsePcap(bytes.NewReader(b[:len(b)-tc.cut]))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, addrs); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePcapErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{name: "empty", in: nil},
		{name: "pcapng magic", in: append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, make([]byte, 20)...)},
		{name: "not Ethernet", in: func() []byte {
			b := pcap(binary.LittleEndian, false, time.Unix(0, 0))
			binary.LittleEndian.PutUint32(b[20:], 113)
			return b
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParsePcap(bytes.NewReader(tc.in)); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestRuns(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	a, b := macA.String(), macB.String()
	answers := []Answer{
		{At: at(0), IP: vip4, MAC: a}, {At: at(1), IP: vip6, MAC: b}, {At: at(2), IP: vip4, MAC: a},
		{At: at(3), IP: vip4, MAC: b}, {At: at(4), IP: vip4, MAC: a},
	}
	for _, tc := range []struct {
		name     string
		ip       netip.Addr
		wantRuns []Run
		wantMACs []string
	}{
		{name: "alternating owners", ip: vip4, wantRuns: []Run{
			{MAC: a, First: at(0), Last: at(2), Count: 2}, {MAC: b, First: at(3), Last: at(3), Count: 1}, {MAC: a, First: at(4), Last: at(4), Count: 1},
		}, wantMACs: []string{a, b}},
		{name: "one owner", ip: vip6, wantRuns: []Run{{MAC: b, First: at(1), Last: at(1), Count: 1}}, wantMACs: []string{b}},
		{name: "no answer", ip: clientIP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.wantRuns, Runs(answers, tc.ip)); diff != "" {
				t.Errorf("Runs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMACs, MACs(answers, tc.ip)); diff != "" {
				t.Errorf("MACs (-want +got):\n%s", diff)
			}
		})
	}
}
