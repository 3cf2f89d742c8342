package ipam

import (
	"testing"
)

func TestSetPools(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "overlapping new pools: the first by name wins, the error names both and the overlap",
			steps: []step{
				{op: "pools", pools: []Pool{pool("b", "192.0.2.128/25"), pool("a", "192.0.2.0/24")}, errs: map[string]string{
					"b": `pool "b": addresses 192.0.2.128/25 overlap pool "a" (192.0.2.0/24) at 192.0.2.128/25: remove the shared addresses from one of the two pools`,
				}},
				{svc: Service{Key: "ns/a", Pool: "b"}, reason: InvalidRequest, msg: `names pool "b", which does not exist or is invalid`},
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name: "an overlapping newcomer never displaces an accepted pool or its assignments",
			steps: []step{
				{op: "pools", pools: []Pool{pool("z", "192.0.2.0/30")}},
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.0"}},
				{op: "pools", pools: []Pool{pool("z", "192.0.2.0/30"), pool("a", "192.0.2.2-192.0.2.9")}, errs: map[string]string{
					"a": `pool "a": addresses 192.0.2.2-192.0.2.9 overlap pool "z" (192.0.2.0/30) at 192.0.2.2/31`,
				}},
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name: "an edit that makes a pool overlap another keeps the pool's last good definition",
			steps: []step{
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/30"), pool("b", "198.51.100.0/30")}},
				{svc: Service{Key: "ns/x", Pool: "b"}, want: []string{"198.51.100.0"}},
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/30"), pool("b", "192.0.2.0/29")}, errs: map[string]string{
					"b": `pool "b": addresses 192.0.2.0/29 overlap pool "a" (192.0.2.0/30) at 192.0.2.0/30`,
				}},
				{svc: Service{Key: "ns/x", Pool: "b"}, want: []string{"198.51.100.0"}},
				{svc: Service{Key: "ns/y", Pool: "b"}, want: []string{"198.51.100.1"}},
			},
		},
		{
			name: "an invalid edit keeps the last good definition and its assignments",
			steps: []step{
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/30")}},
				{svc: Service{Key: "ns/x"}, want: []string{"192.0.2.0"}},
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/33")}, errs: map[string]string{
					"a": `pool "a": addresses[0]: "192.0.2.0/33" is not a valid CIDR`,
				}},
				{svc: Service{Key: "ns/x"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/y"}, want: []string{"192.0.2.1"}},
				{op: "pools", pools: []Pool{pool("a", "192.0.2.3-192.0.2.1")}, errs: map[string]string{
					"a": `pool "a": addresses[0]: range "192.0.2.3-192.0.2.1" is reversed: write 192.0.2.1-192.0.2.3`,
				}},
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0-2001:db8::1")}, errs: map[string]string{
					"a": `mixes IPv4 and IPv6: write one range per family`,
				}},
				{op: "pools", pools: []Pool{buggy(pool("a", "192.0.2.0/32"))}, errs: map[string]string{
					"a": `pool "a": no usable address`,
				}},
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/30"), pool("b", "192.0.2.0/30")}, errs: map[string]string{
					"b": `overlap pool "a"`,
				}},
				{svc: Service{Key: "ns/x"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name: "a new pool with no usable address is rejected; others unaffected",
			steps: []step{
				{op: "pools", pools: []Pool{buggy(pool("a", "192.0.2.255-192.0.3.0")), pool("b", "198.51.100.0/30"), pool("c")}, errs: map[string]string{
					"a": `pool "a": no usable address (avoidBuggyIPs excludes addresses ending in .0 and .255): add addresses or set avoidBuggyIPs to false`,
					"c": `pool "c": no addresses: add a CIDR`,
				}},
				{svc: Service{Key: "ns/x", Pool: "a"}, reason: InvalidRequest, msg: `names pool "a", which does not exist or is invalid`},
				{svc: Service{Key: "ns/x"}, want: []string{"198.51.100.0"}},
			},
		},
		{
			name: "overlapping entries inside a pool, and duplicate names",
			steps: []step{
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/24", "192.0.2.10-192.0.3.1"), pool("b", "198.51.100.0/30"), pool("b", "203.0.113.0/30")}, errs: map[string]string{
					"a": `pool "a": addresses 192.0.2.0/24 and 192.0.2.10-192.0.3.1 overlap: list each address once`,
					"b": `pool "b" is listed twice`,
				}},
				{svc: Service{Key: "ns/x"}, want: []string{"198.51.100.0"}},
			},
		},
		{
			name: "a pool that shrinks or goes reports the Services to re-allocate",
			steps: []step{
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/30"), pool("b", "198.51.100.0/30")}},
				{svc: Service{Key: "ns/1", Pool: "a"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/2", Pool: "a"}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/3", Pool: "b"}, want: []string{"198.51.100.0"}},
				{svc: Service{Key: "ns/4", SharingKey: "k", Ports: tcp(1), Pool: "b"}, want: []string{"198.51.100.1"}},
				{svc: Service{Key: "ns/5", SharingKey: "k", Ports: tcp(2), Pool: "b"}, want: []string{"198.51.100.1"}},
				{op: "pools", pools: []Pool{pool("a", "192.0.2.1-192.0.2.3"), pool("b", "198.51.100.0/32")}, stale: []string{"ns/1", "ns/4", "ns/5"}},
				{svc: Service{Key: "ns/1", Pool: "a"}, want: []string{"192.0.2.2"}},
				{svc: Service{Key: "ns/2", Pool: "a"}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/4", SharingKey: "k", Ports: tcp(1), Pool: "b"}, reason: PoolExhausted, want: []string{"198.51.100.1"}},
				{op: "release", svc: Service{Key: "ns/4"}},
				{op: "pools", pools: []Pool{pool("b", "198.51.100.0/30")}, stale: []string{"ns/1", "ns/2"}},
				{svc: Service{Key: "ns/1"}, want: []string{"198.51.100.2"}},
				{svc: Service{Key: "ns/5", SharingKey: "k", Ports: tcp(2), Pool: "b"}, want: []string{"198.51.100.1"}},
			},
		},
		{
			name: "changing only autoAssign or serviceAllocation keeps the pool's state",
			steps: []step{
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/30")}},
				{svc: Service{Key: "ns/1"}, want: []string{"192.0.2.0"}},
				{op: "pools", pools: []Pool{manual(pool("a", "192.0.2.0/30"))}},
				{svc: Service{Key: "ns/2"}, reason: NoMatchingPool},
				{svc: Service{Key: "ns/1"}, want: []string{"192.0.2.0"}},
				{op: "pools", pools: []Pool{withSA(pool("a", "192.0.2.0/30"), ServiceAllocation{Namespaces: []string{"ns"}})}},
				{svc: Service{Key: "ns/2", Namespace: "ns"}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name: "turning avoidBuggyIPs on makes .0 stale",
			steps: []step{
				{op: "pools", pools: []Pool{pool("a", "192.0.2.0/30")}},
				{svc: Service{Key: "ns/1"}, want: []string{"192.0.2.0"}},
				{op: "pools", pools: []Pool{buggy(pool("a", "192.0.2.0/30"))}, stale: []string{"ns/1"}},
				{svc: Service{Key: "ns/1"}, want: []string{"192.0.2.1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, New(), tt.steps)
		})
	}
}
