package ipam

import (
	"testing"
)

// TestSubnetRouterAnycast: the all-zero interface ID of an IPv6 CIDR entry
// of length 126 or less is the subnet-router anycast address (RFC 4291
// 2.6.1); the allocator never hands it out, but a Service already holding it
// keeps it (a restart never moves an IP).
func TestSubnetRouterAnycast(t *testing.T) {
	tests := []struct {
		name  string
		pools []Pool
		steps []step
	}{
		{
			name:  "the first IPv6 Service of a /64 gets ::1, not ::",
			pools: []Pool{pool("v6", "2001:db8:200::/64")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::1"}},
				{svc: Service{Key: "ns/b", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::2"}},
			},
		},
		{
			name:  "dual-stack: IPv4 keeps its first address, IPv6 skips the anycast one",
			pools: []Pool{pool("d", "192.0.2.0/30", "2001:db8:200::/126")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack}, want: []string{"192.0.2.0", "2001:db8:200::1"}},
			},
		},
		{
			name:  "every CIDR entry loses its own anycast address, ranges and /127 and /128 keep theirs",
			pools: []Pool{pool("m", "2001:db8:200::/126", "2001:db8:300::/127", "2001:db8:400::/128", "2001:db8:500::-2001:db8:500::1")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::1"}},
				{svc: Service{Key: "ns/b", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::2"}},
				{svc: Service{Key: "ns/c", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::3"}},
				{svc: Service{Key: "ns/d", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:300::"}},
				{svc: Service{Key: "ns/e", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:300::1"}},
				{svc: Service{Key: "ns/f", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:400::"}},
				{svc: Service{Key: "ns/g", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:500::"}},
				{svc: Service{Key: "ns/h", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:500::1"}},
				{svc: Service{Key: "ns/i", IPFamilies: []Family{IPv6}}, reason: PoolExhausted},
			},
		},
		{
			name:  "a /126 has three usable addresses, then it is exhausted",
			pools: []Pool{pool("s", "2001:db8:200::/126")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::1"}},
				{svc: Service{Key: "ns/b", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::2"}},
				{svc: Service{Key: "ns/c", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::3"}},
				{svc: Service{Key: "ns/d", IPFamilies: []Family{IPv6}}, reason: PoolExhausted},
			},
		},
		{
			name:  "requesting the anycast address is refused, naming it",
			pools: []Pool{pool("v6", "2001:db8:200::/64")},
			steps: []step{
				{svc: Service{Key: "ns/a", RequestedIPs: addrs("2001:db8:200::")}, reason: RequestedIPUnavailable,
					msg: "requested address 2001:db8:200:: is the subnet-router anycast address of 2001:db8:200::/64"},
			},
		},
		{
			name:  "a Service restored with the anycast address keeps it; once released it is not handed out again",
			pools: []Pool{pool("v6", "2001:db8:200::/126")},
			steps: []step{
				{op: "restore", svc: Service{Key: "ns/old", IPFamilies: []Family{IPv6}}, ips: []string{"2001:db8:200::"}, want: []string{"2001:db8:200::"}},
				{svc: Service{Key: "ns/old", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::"}},
				{svc: Service{Key: "ns/old", IPFamilies: []Family{IPv6}, RequestedIPs: addrs("2001:db8:200::")}, want: []string{"2001:db8:200::"}},
				{op: "release", svc: Service{Key: "ns/old"}},
				{svc: Service{Key: "ns/a", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::1"}},
				{svc: Service{Key: "ns/b", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::2"}},
				{svc: Service{Key: "ns/c", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:200::3"}},
				{svc: Service{Key: "ns/d", IPFamilies: []Family{IPv6}}, reason: PoolExhausted},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := New()
			if res := a.SetPools(tc.pools); len(res.Errors) > 0 {
				t.Fatalf("SetPools: %v", res.Errors)
			}
			run(t, a, tc.steps)
		})
	}
}
