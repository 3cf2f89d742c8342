package ipam

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

func TestRestore(t *testing.T) {
	pools := []Pool{pool("a", "192.0.2.0/29", "2001:db8::/125")}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "restored addresses are kept by Allocate and skipped for others",
			steps: []step{
				{op: "restore", svc: Service{Key: "ns/a"}, ips: []string{"192.0.2.3"}, want: []string{"192.0.2.3"}},
				{op: "restore", svc: Service{Key: "ns/b", IPFamilyPolicy: RequireDualStack}, ips: []string{"192.0.2.0", "2001:db8::"}, want: []string{"192.0.2.0", "2001:db8::"}},
				{svc: Service{Key: "ns/c"}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/d"}, want: []string{"192.0.2.2"}},
				{svc: Service{Key: "ns/e"}, want: []string{"192.0.2.4"}},
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.3"}},
				{svc: Service{Key: "ns/b", IPFamilyPolicy: RequireDualStack}, want: []string{"192.0.2.0", "2001:db8::"}},
			},
		},
		{
			name: "an address in no pool is reported and not recorded; the caller re-allocates",
			steps: []step{
				{op: "restore", svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack}, ips: []string{"203.0.113.7", "2001:db8::5"}, reason: NotInPool, msg: "address 203.0.113.7 is no longer in any pool", want: []string{"2001:db8::5"}},
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack}, want: []string{"192.0.2.0", "2001:db8::5"}},
				{op: "restore", svc: Service{Key: "ns/b"}, ips: []string{"203.0.113.8"}, reason: NotInPool},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name: "a duplicate in status is never restored twice",
			steps: []step{
				{op: "restore", svc: Service{Key: "ns/a"}, ips: []string{"192.0.2.5"}, want: []string{"192.0.2.5"}},
				{op: "restore", svc: Service{Key: "ns/b"}, ips: []string{"192.0.2.5"}, reason: RequestedIPUnavailable, msg: "used by Service ns/a"},
				{op: "restore", svc: Service{Key: "ns/c", SharingKey: "k", Ports: tcp(80)}, ips: []string{"192.0.2.6"}, want: []string{"192.0.2.6"}},
				{op: "restore", svc: Service{Key: "ns/d", SharingKey: "k", Ports: tcp(80)}, ips: []string{"192.0.2.6"}, reason: SharingConflict},
				{op: "restore", svc: Service{Key: "ns/e", SharingKey: "k", Ports: tcp(81)}, ips: []string{"192.0.2.6"}, want: []string{"192.0.2.6"}},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/d", SharingKey: "k", Ports: tcp(80)}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name: "two addresses of one family: the first is restored",
			steps: []step{
				{op: "restore", svc: Service{Key: "ns/a"}, ips: []string{"192.0.2.1", "192.0.2.2"}, reason: InvalidRequest, msg: "holds two IPv4 addresses; 192.0.2.2 was not restored", want: []string{"192.0.2.1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New()
			a.SetPools(pools)
			run(t, a, tt.steps)
		})
	}
}

// TestRestart plays a controller restart: Services allocated by one
// allocator are restored, in another order, into a fresh one; none moves,
// none is duplicated, and new Services get new addresses.
func TestRestart(t *testing.T) {
	pools := []Pool{pool("d", "192.0.2.0/24", "2001:db8::/120"), buggy(pool("e", "198.51.100.0/24"))}
	before := New()
	before.SetPools(pools)
	rng := rand.New(rand.NewPCG(1, 2))
	var svcs []Service
	for i := range 400 {
		s := Service{Key: fmt.Sprintf("ns/s%03d", i)}
		switch i % 5 {
		case 1:
			s.IPFamilyPolicy = RequireDualStack
		case 2:
			s.SharingKey, s.Ports = fmt.Sprint("k", i%3), tcp(int32(i))
		case 3:
			s.IPFamilies = []Family{IPv6}
		}
		if _, err := before.Allocate(s); err != nil {
			t.Fatalf("allocating %s: %v", s.Key, err)
		}
		svcs = append(svcs, s)
		if i%7 == 0 { // churn
			before.Release(svcs[i/2].Key)
			if _, err := before.Allocate(svcs[i/2]); err != nil {
				t.Fatalf("re-allocating %s: %v", s.Key, err)
			}
		}
	}
	after := New()
	after.SetPools(pools)
	order := slices.Clone(svcs)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, s := range order {
		if err := after.Restore(s, before.Assigned(s.Key)); err != nil {
			t.Fatalf("restoring %s: %v", s.Key, err)
		}
	}
	for _, s := range order {
		got, err := after.Allocate(s)
		if err != nil {
			t.Fatalf("allocating %s after restore: %v", s.Key, err)
		}
		if want := before.Assigned(s.Key); !slices.Equal(got, want) {
			t.Errorf("%s moved from %v to %v", s.Key, want, got)
		}
	}
	checkInvariants(t, after)
	seen := map[netip.Addr]string{}
	for _, s := range svcs {
		for _, ip := range after.Assigned(s.Key) {
			if s.SharingKey == "" && seen[ip] != "" {
				t.Errorf("%s and %s both hold %s", seen[ip], s.Key, ip)
			}
			seen[ip] = s.Key
		}
	}
	for i := range 50 {
		ips, err := after.Allocate(Service{Key: fmt.Sprint("new/", i)})
		if err != nil {
			t.Fatal(err)
		}
		if k, ok := seen[ips[0]]; ok {
			t.Errorf("new Service got %s, held by %s", ips[0], k)
		}
	}
	checkInvariants(t, after)
}
