package lab

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// nlAttr encodes one route attribute, padded to 4 bytes.
func nlAttr(typ uint16, val []byte) []byte {
	b := make([]byte, unix.SizeofRtAttr, align4(unix.SizeofRtAttr+len(val)))
	binary.NativeEndian.PutUint16(b, uint16(unix.SizeofRtAttr+len(val)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	b = append(b, val...)
	return append(b, make([]byte, cap(b)-len(b))...)
}

// nlNexthop encodes one rtnexthop of an RTA_MULTIPATH with its attributes.
func nlNexthop(as ...[]byte) []byte {
	b := make([]byte, unix.SizeofRtNexthop)
	for _, a := range as {
		b = append(b, a...)
	}
	binary.NativeEndian.PutUint16(b, uint16(len(b)))
	return b
}

// nlRoute encodes an RTM_NEWROUTE message of sequence seq.
func nlRoute(seq uint32, family uint8, dstLen uint8, table uint8, as ...[]byte) []byte {
	body := []byte{family, dstLen, 0, 0, table, 0, 0, 0, 0, 0, 0, 0}
	for _, a := range as {
		body = append(body, a...)
	}
	return nlMsg(unix.RTM_NEWROUTE, seq, body)
}

func nlMsg(typ uint16, seq uint32, body []byte) []byte {
	h := make([]byte, unix.SizeofNlMsghdr)
	binary.NativeEndian.PutUint32(h, uint32(len(h)+len(body)))
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint32(h[8:], seq)
	return append(h, body...)
}

func ip4(s string) []byte { a := netip.MustParseAddr(s).As4(); return a[:] }
func ip6(s string) []byte { a := netip.MustParseAddr(s).As16(); return a[:] }

func TestParseRouteDump(t *testing.T) {
	u32 := func(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
	via6 := func(s string) []byte { return append(binary.NativeEndian.AppendUint16(nil, unix.AF_INET6), ip6(s)...) }
	vip := netip.MustParsePrefix("203.0.113.10/32")
	for _, tc := range []struct {
		name     string
		dump     []byte
		done     bool
		prefix   netip.Prefix
		wantHops []string
		wantErr  bool
	}{{
		name:     "one gateway",
		dump:     nlRoute(7, unix.AF_INET, 32, unix.RT_TABLE_MAIN, nlAttr(unix.RTA_DST, ip4("203.0.113.10")), nlAttr(unix.RTA_GATEWAY, ip4("192.0.2.11"))),
		prefix:   vip,
		wantHops: []string{"192.0.2.11"},
	}, {
		name: "multipath, sorted, then done",
		dump: append(nlRoute(7, unix.AF_INET, 32, unix.RT_TABLE_MAIN,
			nlAttr(unix.RTA_TABLE, u32(unix.RT_TABLE_MAIN)),
			nlAttr(unix.RTA_DST, ip4("203.0.113.10")),
			nlAttr(unix.RTA_MULTIPATH, append(append(
				nlNexthop(nlAttr(unix.RTA_GATEWAY, ip4("192.0.2.13"))),
				nlNexthop(nlAttr(unix.RTA_GATEWAY, ip4("192.0.2.11")))...),
				nlNexthop(nlAttr(unix.RTA_GATEWAY, ip4("192.0.2.12")))...))),
			nlMsg(unix.NLMSG_DONE, 7, u32(0))...),
		done:     true,
		prefix:   vip,
		wantHops: []string{"192.0.2.11", "192.0.2.12", "192.0.2.13"},
	}, {
		name:     "IPv4 via IPv6 next hops",
		dump:     nlRoute(7, unix.AF_INET, 32, unix.RT_TABLE_MAIN, nlAttr(unix.RTA_DST, ip4("203.0.113.10")), nlAttr(unix.RTA_MULTIPATH, nlNexthop(nlAttr(unix.RTA_VIA, via6("fe80::1"))))),
		prefix:   vip,
		wantHops: []string{"fe80::1"},
	}, {
		name:     "IPv6",
		dump:     nlRoute(7, unix.AF_INET6, 128, unix.RT_TABLE_MAIN, nlAttr(unix.RTA_DST, ip6("2001:db8:1::10")), nlAttr(unix.RTA_GATEWAY, ip6("2001:db8::11"))),
		prefix:   netip.MustParsePrefix("2001:db8:1::10/128"),
		wantHops: []string{"2001:db8::11"},
	}, {
		name:   "another table, another length, an older dump: no hops",
		dump:   append(append(append(nlRoute(7, unix.AF_INET, 32, unix.RT_TABLE_LOCAL, nlAttr(unix.RTA_DST, ip4("203.0.113.10")), nlAttr(unix.RTA_GATEWAY, ip4("192.0.2.1"))), nlRoute(7, unix.AF_INET, 24, unix.RT_TABLE_MAIN, nlAttr(unix.RTA_DST, ip4("203.0.113.0")), nlAttr(unix.RTA_GATEWAY, ip4("192.0.2.2")))...), nlRoute(6, unix.AF_INET, 32, unix.RT_TABLE_MAIN, nlAttr(unix.RTA_DST, ip4("203.0.113.10")), nlAttr(unix.RTA_GATEWAY, ip4("192.0.2.3")))...), nlRoute(7, unix.AF_INET, 0, unix.RT_TABLE_MAIN, nlAttr(unix.RTA_GATEWAY, ip4("192.0.2.4")))...),
		prefix: vip,
	}, {
		name:    "an error",
		dump:    nlMsg(unix.NLMSG_ERROR, 7, u32(uint32(0x100000000-int64(unix.EPERM)))),
		wantErr: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rs, done, err := parseRouteDump(tc.dump, 7)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %t", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if done != tc.done {
				t.Errorf("done = %t, want %t", done, tc.done)
			}
			if diff := cmp.Diff(tc.wantHops, routeHops(rs, tc.prefix)); diff != "" {
				t.Errorf("hops (-want +got):\n%s", diff)
			}
		})
	}
}
