package ipam

import (
	"fmt"
	"math/big"
	"net/netip"
	"strings"
)

// Range is an inclusive range of addresses of one family: First <= Last.
type Range struct {
	First netip.Addr
	Last  netip.Addr
}

// ParseRange parses one entry of a pool's addresses: a CIDR
// ("192.0.2.0/24", "2001:db8::/64") or an inclusive range of one family
// ("192.0.2.10-192.0.2.20", "2001:db8::10 - 2001:db8::1f"). A CIDR must have
// no host bits set; zones and IPv4-mapped IPv6 addresses are refused. The
// error says what is wrong with the entry and how to write it.
func ParseRange(entry string) (Range, error) {
	s := strings.TrimSpace(entry)
	switch {
	case s == "":
		return Range{}, fmt.Errorf("empty address entry: write a CIDR like 192.0.2.0/24 or a range like 192.0.2.10-192.0.2.20")
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Range{}, fmt.Errorf("%q is not a valid CIDR (%v): write a CIDR like 192.0.2.0/24 or 2001:db8::/64", entry, err)
		}
		if p.Addr().Is4In6() {
			return Range{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix: write the IPv4 CIDR instead", entry)
		}
		if m := p.Masked(); m != p {
			return Range{}, fmt.Errorf("%q has host bits set: write %s", entry, m)
		}
		return Range{First: p.Addr(), Last: LastOf(p)}, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		first, err := parseAddr(entry, strings.TrimSpace(a))
		if err != nil {
			return Range{}, err
		}
		last, err := parseAddr(entry, strings.TrimSpace(b))
		if err != nil {
			return Range{}, err
		}
		if first.Is4() != last.Is4() {
			return Range{}, fmt.Errorf("range %q mixes IPv4 and IPv6: write one range per family", entry)
		}
		if last.Less(first) {
			return Range{}, fmt.Errorf("range %q is reversed: write %s-%s", entry, last, first)
		}
		return Range{First: first, Last: last}, nil
	default:
		a, err := parseAddr(entry, s)
		if err != nil {
			return Range{}, err
		}
		return Range{}, fmt.Errorf("%q is a single address, not a CIDR or range: write %s", entry, netip.PrefixFrom(a, a.BitLen()))
	}
}

func parseAddr(entry, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return netip.Addr{}, fmt.Errorf("%q: %q is not an IP address (%v): write a CIDR like 192.0.2.0/24 or a range like 192.0.2.10-192.0.2.20", entry, s, err)
	case a.Zone() != "":
		return netip.Addr{}, fmt.Errorf("%q: %q has an IPv6 zone: write the address without %%%s", entry, s, a.Zone())
	case a.Is4In6():
		return netip.Addr{}, fmt.Errorf("%q: %q is an IPv4-mapped IPv6 address: write %s", entry, s, a.Unmap())
	}
	return a, nil
}

// ParseAddresses parses every entry of a pool's addresses with ParseRange,
// keeping their order. The first bad entry is reported with its index.
func ParseAddresses(entries []string) ([]Range, error) {
	out := make([]Range, 0, len(entries))
	for i, e := range entries {
		r, err := ParseRange(e)
		if err != nil {
			return nil, fmt.Errorf("addresses[%d]: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseIPList parses a comma-separated list of addresses, as found in the
// loadBalancerIPs annotation (spec.loadBalancerIP is a list of one). Errors
// are *Error with Reason InvalidRequest.
func ParseIPList(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, newError(InvalidRequest, fmt.Sprintf("requested address %q is not an IP address: write addresses like 192.0.2.10 or 2001:db8::10, separated by commas", f))
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

// Family returns the range's address family.
func (r Range) Family() Family { return FamilyOf(r.First) }

// Contains reports whether a lies in the range.
func (r Range) Contains(a netip.Addr) bool {
	return a.Is4() == r.First.Is4() && !a.Less(r.First) && !r.Last.Less(a)
}

// Overlaps reports whether the two ranges share an address.
func (r Range) Overlaps(o Range) bool {
	return r.First.Is4() == o.First.Is4() && !r.Last.Less(o.First) && !o.Last.Less(r.First)
}

// intersect returns the shared part of two overlapping ranges.
func (r Range) intersect(o Range) Range {
	out := r
	if out.First.Less(o.First) {
		out.First = o.First
	}
	if o.Last.Less(out.Last) {
		out.Last = o.Last
	}
	return out
}

// String writes the range as a CIDR when it is exactly one, else as
// "first-last". ParseRange(r.String()) == r.
func (r Range) String() string {
	if !r.First.IsValid() {
		return "invalid range"
	}
	if p, ok := r.Prefix(); ok {
		return p.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// SubnetRouterAnycast returns the subnet-router anycast address of an IPv6
// range that is exactly one CIDR of length 126 or less: its address with an
// all-zero interface ID (RFC 4291 2.6.1), which routers of that subnet
// answer and which a Service must therefore never get. Other ranges (IPv4,
// /127, /128, "a-b" ranges that are not one CIDR) have none.
func SubnetRouterAnycast(r Range) (netip.Addr, bool) {
	if !r.First.IsValid() || !r.First.Is6() {
		return netip.Addr{}, false
	}
	p, ok := r.Prefix()
	if !ok || p.Bits() > 126 {
		return netip.Addr{}, false
	}
	return r.First, true
}

// Prefix returns the CIDR the range is exactly, if it is one.
func (r Range) Prefix() (netip.Prefix, bool) {
	if !r.First.IsValid() || !r.Last.IsValid() {
		return netip.Prefix{}, false
	}
	bits := r.First.BitLen()
	for l := 0; l <= bits; l++ {
		p := netip.PrefixFrom(r.First, l)
		if p.Masked().Addr() == r.First && LastOf(p) == r.Last {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// Size returns the number of addresses in the range.
func (r Range) Size() *big.Int {
	n := new(big.Int).Sub(addrInt(r.Last), addrInt(r.First))
	return n.Add(n, big.NewInt(1))
}

// usableSize returns the number of addresses of the range a pool may hand
// out: all of them, less the .0 and .255 IPv4 addresses when avoidBuggy.
func (r Range) usableSize(avoidBuggy bool) *big.Int {
	n := r.Size()
	if avoidBuggy && r.First.Is4() {
		f, l := u32(r.First), u32(r.Last)
		buggy := buggyUpTo(l)
		if f > 0 {
			buggy -= buggyUpTo(f - 1)
		}
		n.Sub(n, new(big.Int).SetUint64(buggy))
	}
	return n
}

// buggyUpTo counts the IPv4 addresses in [0, n] ending in .0 or .255.
func buggyUpTo(n uint32) uint64 {
	x := uint64(n)
	return x/256 + 1 + (x+1)/256
}

// usable reports whether a pool with the given avoidBuggyIPs may hand out a.
func usable(a netip.Addr, avoidBuggy bool) bool {
	if !avoidBuggy || !a.Is4() {
		return true
	}
	b := a.As4()[3]
	return b != 0 && b != 255
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addrInt(a netip.Addr) *big.Int {
	if a.Is4() {
		b := a.As4()
		return new(big.Int).SetBytes(b[:])
	}
	b := a.As16()
	return new(big.Int).SetBytes(b[:])
}

// LastOf returns the last address of prefix p (its host bits all set).
func LastOf(p netip.Prefix) netip.Addr {
	p = p.Masked()
	if p.Addr().Is4() {
		b := p.Addr().As4()
		setHostBits(b[:], p.Bits())
		return netip.AddrFrom4(b)
	}
	b := p.Addr().As16()
	setHostBits(b[:], p.Bits())
	return netip.AddrFrom16(b)
}

// setHostBits sets the bits of b after the first bits ones.
func setHostBits(b []byte, bits int) {
	i := bits / 8
	if r := bits % 8; r != 0 {
		b[i] |= 0xff >> r
		i++
	}
	for ; i < len(b); i++ {
		b[i] = 0xff
	}
}
