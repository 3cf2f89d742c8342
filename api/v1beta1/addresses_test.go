package v1beta1_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/ipam"
)

// addressEntries are pool entries on the edges of the syntax; the API
// server's CEL rules and ipam.ParseRange (which the controller uses to read
// the entries) must agree on every one.
var addressEntries = []string{
	"192.0.2.0/24", "192.0.2.0/32", "0.0.0.0/0", "2001:db8::/32", "2001:DB8::/32", "::/0", "2001:db8:200::/128",
	"192.0.2.0/33", "2001:db8::/129", "192.0.2.5/24", "2001:db8::1/64", "192.0.2.0/-1", "192.0.2.0/", "/24",
	"192.0.2.1", "2001:db8::1", "banana", "-", "192.0.2.1-", "-192.0.2.1", "192.0.2.1--192.0.2.2",
	"192.0.2.1-192.0.2.2", "192.0.2.1 - 192.0.2.2", "192.0.2.1  -192.0.2.2", "192.0.2.2-192.0.2.1",
	"192.0.2.1-192.0.2.1", "192.0.2.1-2001:db8::1", "2001:db8::1-192.0.2.1", "2001:db8::1-2001:db8::2",
	"2001:db8::2-2001:db8::1", "::-::1", "::1-::", "0.0.0.0-255.255.255.255", "255.255.255.255-0.0.0.0",
	"192.0.2.01-192.0.2.2", "192.0.2.1-192.0.2.256", "::ffff:192.0.2.1/128", "::ffff:192.0.2.1-::ffff:192.0.2.2",
	"fe80::1%eth0-fe80::2", "192.0.2.0/24-192.0.2.255", "192.0.2.1-192.0.2.0/24", "1.2.3-1.2.3.4",
	"2001:db8::/64 ", "2001:db8:0:0:0:0:0:1-2001:db8::2",
}

// newRand returns a deterministic random source for test inputs.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 2)) }

// randomRanges returns first-last entries of random addresses of one
// family, sharing a random number of leading bits so that the first
// difference falls anywhere, in both orders.
func randomRanges(r *rand.Rand, n int) []string {
	var out []string
	for len(out) < n {
		var a, b [16]byte
		bits := 32
		if r.IntN(2) == 0 {
			bits = 128
		}
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		b = a
		flip := r.IntN(bits) // the first bit where b differs from a
		for i := flip; i < bits; i++ {
			if i == flip || r.IntN(2) == 0 {
				b[i/8] ^= 0x80 >> (i % 8)
			}
		}
		var x, y netip.Addr
		if bits == 32 {
			x, y = netip.AddrFrom4([4]byte(a[:4])), netip.AddrFrom4([4]byte(b[:4]))
		} else {
			x, y = netip.AddrFrom16(a), netip.AddrFrom16(b)
			if x.Is4In6() || y.Is4In6() {
				continue
			}
		}
		out = append(out, x.String()+"-"+y.String(), y.String()+"-"+x.String())
	}
	return out
}

func testAddressesAgreeWithIPAM(t *testing.T, c client.Client) {
	entries := append([]string(nil), addressEntries...)
	entries = append(entries, randomRanges(newRand(1), 200)...)
	for i, e := range entries {
		_, perr := ipam.ParseRange(e)
		pool := &v1beta1.IPAddressPool{Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{v1beta1.AddressRange(e)}}}
		pool.Namespace, pool.Name = ns, fmt.Sprintf("agree-%d", i)
		aerr := c.Create(ctxFor(t), pool, client.DryRunAll)
		// Admission is stricter on one point only: no spaces around the entry.
		strictOnly := e != "" && (e[0] == ' ' || e[len(e)-1] == ' ')
		switch {
		case aerr == nil && perr != nil:
			t.Errorf("%q: the API server accepts it but ipam.ParseRange refuses it: %v", e, perr)
		case aerr != nil && perr == nil && !strictOnly:
			t.Errorf("%q: ipam.ParseRange accepts it but the API server refuses it: %v", e, aerr)
		}
	}
}
