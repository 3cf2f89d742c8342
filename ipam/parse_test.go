package ipam

import (
	"math/big"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // Range.String() of the result
		size    string
		wantErr string // substring of the error
	}{
		{name: "v4 cidr", in: "192.0.2.0/24", want: "192.0.2.0/24", size: "256"},
		{name: "v4 single-address cidr", in: "192.0.2.7/32", want: "192.0.2.7/32", size: "1"},
		{name: "v4 range", in: "192.0.2.10-192.0.2.20", want: "192.0.2.10-192.0.2.20", size: "11"},
		{name: "v4 range with spaces", in: " 192.0.2.10 - 192.0.2.20 ", want: "192.0.2.10-192.0.2.20", size: "11"},
		{name: "range that is a cidr prints as one", in: "192.0.2.0-192.0.2.255", want: "192.0.2.0/24", size: "256"},
		{name: "one-address range", in: "192.0.2.9-192.0.2.9", want: "192.0.2.9/32", size: "1"},
		{name: "v4 /8", in: "10.0.0.0/8", want: "10.0.0.0/8", size: "16777216"},
		{name: "whole v4", in: "0.0.0.0/0", want: "0.0.0.0/0", size: "4294967296"},
		{name: "v6 /64", in: "2001:db8::/64", want: "2001:db8::/64", size: "18446744073709551616"},
		{name: "v6 range", in: "2001:db8::10-2001:db8::1f", want: "2001:db8::10/124", size: "16"},
		{name: "v6 odd range", in: "2001:db8::10-2001:db8::20", want: "2001:db8::10-2001:db8::20", size: "17"},
		{name: "v6 /0", in: "::/0", want: "::/0", size: "340282366920938463463374607431768211456"},
		{name: "invalid cidr", in: "192.0.2.0/33", wantErr: `"192.0.2.0/33" is not a valid CIDR`},
		{name: "garbage", in: "pool-a", wantErr: `"pool" is not an IP address`},
		{name: "empty", in: "  ", wantErr: "empty address entry"},
		{name: "host bits", in: "192.0.2.5/24", wantErr: "has host bits set: write 192.0.2.0/24"},
		{name: "v6 host bits", in: "2001:db8::1/64", wantErr: "write 2001:db8::/64"},
		{name: "reversed range", in: "192.0.2.20-192.0.2.10", wantErr: "is reversed: write 192.0.2.10-192.0.2.20"},
		{name: "mixed families", in: "192.0.2.1-2001:db8::1", wantErr: "mixes IPv4 and IPv6: write one range per family"},
		{name: "single address", in: "192.0.2.1", wantErr: "is a single address, not a CIDR or range: write 192.0.2.1/32"},
		{name: "single v6 address", in: "2001:db8::1", wantErr: "write 2001:db8::1/128"},
		{name: "zone", in: "fe80::1%eth0-fe80::2", wantErr: "has an IPv6 zone"},
		{name: "mapped v4", in: "::ffff:192.0.2.1-::ffff:192.0.2.9", wantErr: "IPv4-mapped IPv6 address: write 192.0.2.1"},
		{name: "mapped v4 cidr", in: "::ffff:192.0.2.0/120", wantErr: "IPv4-mapped IPv6 prefix"},
		{name: "half range", in: "192.0.2.1-", wantErr: `"" is not an IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRange(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRange(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRange(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, r.String()); diff != "" {
				t.Errorf("ParseRange(%q).String() (-want +got):\n%s", tt.in, diff)
			}
			if got := r.Size().String(); got != tt.size {
				t.Errorf("ParseRange(%q).Size() = %s, want %s", tt.in, got, tt.size)
			}
		})
	}
}

func TestParseAddressesNamesTheEntry(t *testing.T) {
	_, err := ParseAddresses([]string{"192.0.2.0/24", "198.51.100.9-198.51.100.1"})
	want := `addresses[1]: range "198.51.100.9-198.51.100.1" is reversed: write 198.51.100.1-198.51.100.9`
	if err == nil || err.Error() != want {
		t.Fatalf("ParseAddresses error = %v, want %q", err, want)
	}
}

func TestUsableSize(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		avoid bool
		want  string
	}{
		{name: "/24 all", in: "192.0.2.0/24", want: "256"},
		{name: "/24 avoiding buggy", in: "192.0.2.0/24", avoid: true, want: "254"},
		{name: "/8 avoiding buggy", in: "10.0.0.0/8", avoid: true, want: "16646144"}, // 2^24 - 2*2^16
		{name: "range across a .255/.0 boundary", in: "198.51.100.254-198.51.101.1", avoid: true, want: "2"},
		{name: "only buggy", in: "192.0.2.255-192.0.3.0", avoid: true, want: "0"},
		{name: "from 0.0.0.0", in: "0.0.0.0-0.0.1.0", avoid: true, want: "254"},
		{name: "to 255.255.255.255", in: "255.255.255.0/24", avoid: true, want: "254"},
		{name: "v6 ignores avoidBuggyIPs", in: "2001:db8::/120", avoid: true, want: "256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRange(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.usableSize(tt.avoid).String(); got != tt.want {
				t.Errorf("usableSize(%s, %v) = %s, want %s", tt.in, tt.avoid, got, tt.want)
			}
		})
	}
}

func TestParseIPList(t *testing.T) {
	got, err := ParseIPList(" 192.0.2.1, 2001:db8::1 ,")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("ParseIPList (-want +got):\n%s", diff)
	}
	_, err = ParseIPList("192.0.2.1,nope")
	var e *Error
	if !asError(err, &e) || e.Reason != InvalidRequest || !strings.Contains(e.Message, `"nope" is not an IP address`) {
		t.Errorf("ParseIPList(bad) = %v, want InvalidRequest naming the entry", err)
	}
}

// FuzzParseRange checks ParseRange's invariants: an accepted entry is a
// well-formed range of one family that prints and parses back to itself.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"192.0.2.0/24", "192.0.2.10-192.0.2.20", "2001:db8::/64", "2001:db8::1-2001:db8::ff",
		"0.0.0.0/0", "::/0", "192.0.2.20-192.0.2.10", "192.0.2.1-2001:db8::1", "192.0.2.5/24",
		"fe80::1%eth0/64", "::ffff:192.0.2.1-::ffff:192.0.2.2", "1.2.3.4", " 10.0.0.0/8 ", "-", "/",
		"255.255.255.255/32", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			if r != (Range{}) {
				t.Fatalf("ParseRange(%q) returned %v with error %v", s, r, err)
			}
			return
		}
		if !r.First.IsValid() || !r.Last.IsValid() || r.First.Is4() != r.Last.Is4() {
			t.Fatalf("ParseRange(%q) = %v: not one family", s, r)
		}
		if r.Last.Less(r.First) || r.First.Zone() != "" || r.First.Is4In6() || r.Last.Is4In6() {
			t.Fatalf("ParseRange(%q) = %v: malformed", s, r)
		}
		if !r.Contains(r.First) || !r.Contains(r.Last) {
			t.Fatalf("ParseRange(%q) = %v does not contain its ends", s, r)
		}
		back, err := ParseRange(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRange(%q).String() = %q parses to %v, %v", s, r.String(), back, err)
		}
		if r.Size().Sign() <= 0 || r.Size().Cmp(new(big.Int).Lsh(big.NewInt(1), uint(r.First.BitLen()))) > 0 {
			t.Fatalf("ParseRange(%q) size %s out of bounds", s, r.Size())
		}
	})
}

func TestLastOf(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"192.0.2.0/24", "192.0.2.255"},
		{"192.0.2.7/32", "192.0.2.7"},
		{"192.0.2.64/26", "192.0.2.127"},
		{"192.0.2.0/23", "192.0.3.255"},
		{"0.0.0.0/0", "255.255.255.255"},
		{"198.51.100.1/7", "199.255.255.255"},
		{"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::1/128", "2001:db8::1"},
		{"2001:db8::/127", "2001:db8::1"},
		{"2001:db8:200::/116", "2001:db8:200::fff"},
		{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	} {
		if got := LastOf(netip.MustParsePrefix(tc.prefix)); got.String() != tc.want {
			t.Errorf("LastOf(%s) = %s, want %s", tc.prefix, got, tc.want)
		}
	}
}
