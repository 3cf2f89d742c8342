package ipam

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStats(t *testing.T) {
	a := New()
	a.SetPools([]Pool{
		pool("big", "2001:db8::/64", "192.0.2.0/24"),
		buggy(pool("wide", "10.0.0.0/8")),
	})
	for i, s := range []Service{
		{Key: "ns/a", IPFamilyPolicy: RequireDualStack, Pool: "big"},
		{Key: "ns/b", Pool: "big", SharingKey: "k", Ports: tcp(1)},
		{Key: "ns/c", Pool: "big", SharingKey: "k", Ports: tcp(2)}, // shares b's address: counted once
		{Key: "ns/d", Pool: "wide"},
		{Key: "ns/e", Pool: "wide"},
	} {
		if _, err := a.Allocate(s); err != nil {
			t.Fatalf("service %d: %v", i, err)
		}
	}
	a.Release("ns/e")
	n := func(s string) *big.Int {
		v, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("bad number %q", s)
		}
		return v
	}
	want := map[string]PoolStats{
		"big": {
			IPv4: FamilyStats{Total: n("256"), Assigned: n("2"), Available: n("254")},
			IPv6: FamilyStats{Total: n("18446744073709551615"), Assigned: n("1"), Available: n("18446744073709551614")},
		},
		"wide": {
			IPv4: FamilyStats{Total: n("16646144"), Assigned: n("1"), Available: n("16646143")},
			IPv6: FamilyStats{Total: n("0"), Assigned: n("0"), Available: n("0")},
		},
	}
	if diff := cmp.Diff(want, a.Stats(), cmp.Comparer(func(x, y *big.Int) bool { return x.Cmp(y) == 0 })); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if got, _ := a.PoolOf(netip.MustParseAddr("10.0.0.1")); got != "wide" {
		t.Errorf("PoolOf(10.0.0.1) = %q, want wide", got)
	}
	if _, ok := a.PoolOf(netip.MustParseAddr("10.0.1.0")); ok {
		t.Errorf("PoolOf(10.0.1.0) found a pool, but avoidBuggyIPs excludes it")
	}
}

// TestConcurrent allocates and releases from many goroutines (run it with
// -race); no address may ever be held twice.
func TestConcurrent(t *testing.T) {
	a := New()
	a.SetPools([]Pool{pool("p", "192.0.2.0/26", "2001:db8::/122")})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				s := Service{Key: fmt.Sprintf("g%d/s%d", g, i%6), IPFamilyPolicy: PreferDualStack}
				if i%3 == 2 {
					a.Release(s.Key)
					continue
				}
				if _, err := a.Allocate(s); err != nil {
					t.Errorf("allocate %s: %v", s.Key, err)
					return
				}
				a.Stats()
			}
		})
	}
	wg.Wait()
	checkInvariants(t, a)
}

// FuzzAllocator plays random operations on a small pool set and checks the
// allocator's invariants (no address held by Services that cannot share it,
// exact counts) after each one.
func FuzzAllocator(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("\x10\x21\x32\x43\x54\x65\x76\x87\x98\xa9\xba\xcb\xdc\xed\xfe\x0f"))
	f.Add([]byte("\xff\xfe\xfd\xfc\x01\x02\x03\x04\x80\x81\x82\x83\x40\x41\x42\x43"))
	poolSets := [][]Pool{
		{pool("a", "192.0.2.0/30", "2001:db8::/127"), pool("b", "192.0.2.8/31"), manual(pool("m", "198.51.100.0/31", "2001:db8:1::/127"))},
		{buggy(pool("a", "192.0.2.254-192.0.3.1")), withSA(pool("b", "2001:db8::/126"), ServiceAllocation{Priority: 1, Namespaces: []string{"n1"}})},
		{pool("a", "192.0.2.0/29")},
	}
	reqs := []string{"192.0.2.1", "192.0.2.9", "198.51.100.1", "2001:db8::1", "2001:db8:1::", "203.0.113.1", "192.0.3.0"}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := New()
		a.SetPools(poolSets[0])
		for len(data) >= 3 {
			op, x, y := data[0], data[1], data[2]
			data = data[3:]
			key := fmt.Sprintf("n%d/s%d", x%2, x%5)
			s := Service{Key: key, Namespace: fmt.Sprintf("n%d", x%2), IPFamilyPolicy: []FamilyPolicy{SingleStack, PreferDualStack, RequireDualStack}[y%3]}
			if y&4 != 0 {
				s.IPFamilies = []Family{IPv6}
			}
			if y&8 != 0 {
				s.SharingKey = fmt.Sprint("k", y>>6)
				s.Ports = tcp(int32(x % 3))
			}
			if y&16 != 0 {
				s.TrafficPolicy = TrafficLocal
				s.Selector = map[string]string{"app": fmt.Sprint(x % 2)}
			}
			// allocate checks that Allocate is idempotent and that a failed
			// Allocate changes nothing.
			allocate := func(s Service) {
				before := a.Assigned(s.Key)
				got, err := a.Allocate(s)
				if err != nil {
					if after := a.Assigned(s.Key); !slices.Equal(before, after) {
						t.Fatalf("failed Allocate(%+v) changed %v to %v: %v", s, before, after, err)
					}
					return
				}
				again, err := a.Allocate(s)
				if err != nil || !slices.Equal(got, again) {
					t.Fatalf("Allocate(%+v) = %v, then %v, %v", s, got, again, err)
				}
			}
			switch op % 6 {
			case 0, 1:
				allocate(s)
			case 2:
				s.RequestedIPs = []netip.Addr{netip.MustParseAddr(reqs[int(y)%len(reqs)])}
				if op&8 != 0 {
					s.RequestedIPs = append(s.RequestedIPs, netip.MustParseAddr(reqs[int(x)%len(reqs)]))
				}
				allocate(s)
			case 3:
				s.Pool = []string{"a", "b", "m", "zz"}[y%4]
				allocate(s)
			case 4:
				a.Release(key)
			case 5:
				if op&8 != 0 {
					a.SetPools(poolSets[int(y)%len(poolSets)])
				} else {
					_ = a.Restore(s, []netip.Addr{netip.MustParseAddr(reqs[int(y)%len(reqs)])})
				}
			}
			checkInvariants(t, a)
		}
	})
}
