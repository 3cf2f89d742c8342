package ipam

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// pool returns an autoAssign pool.
func pool(name string, addresses ...string) Pool {
	return Pool{Name: name, Addresses: addresses, AutoAssign: true}
}

func withSA(p Pool, sa ServiceAllocation) Pool { p.ServiceAllocation = &sa; return p }
func manual(p Pool) Pool                       { p.AutoAssign = false; return p }
func buggy(p Pool) Pool                        { p.AvoidBuggyIPs = true; return p }

func sel(s string) labels.Selector {
	l, err := labels.Parse(s)
	if err != nil {
		panic(err)
	}
	return l
}

func tcp(ports ...int32) []Port {
	var out []Port
	for _, p := range ports {
		out = append(out, Port{Protocol: "TCP", Port: p})
	}
	return out
}

func TestAllocate(t *testing.T) {
	v4 := pool("v4", "192.0.2.0/30")
	tests := []struct {
		name  string
		pools []Pool
		steps []step
	}{
		{
			name:  "first address of a pool, then the next; existing kept",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "avoidBuggyIPs skips .255 and .0 across a boundary; then exhausted",
			pools: []Pool{buggy(pool("p", "198.51.100.254-198.51.101.1"))},
			steps: []step{
				{svc: Service{Key: "ns/a"}, want: []string{"198.51.100.254"}},
				{svc: Service{Key: "ns/b"}, want: []string{"198.51.101.1"}},
				{svc: Service{Key: "ns/c"}, reason: PoolExhausted, msg: `every usable IPv4 address of pool(s) p is assigned`},
			},
		},
		{
			name:  "a released address is reused; exhaustion lifts",
			pools: []Pool{pool("p", "192.0.2.1-192.0.2.2")},
			steps: []step{
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.2"}},
				{svc: Service{Key: "ns/c"}, reason: PoolExhausted},
				{op: "release", svc: Service{Key: "ns/a"}},
				{svc: Service{Key: "ns/c"}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name:  "released addresses requested or restored are not handed out again",
			pools: []Pool{pool("p", "192.0.2.1-192.0.2.4")},
			steps: []step{
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.2"}},
				{op: "release", svc: Service{Key: "ns/a"}},
				{op: "release", svc: Service{Key: "ns/b"}},
				{svc: Service{Key: "ns/c", RequestedIPs: addrs("192.0.2.2")}, want: []string{"192.0.2.2"}},
				{op: "restore", svc: Service{Key: "ns/d"}, ips: []string{"192.0.2.1"}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/e"}, want: []string{"192.0.2.3"}},
				{svc: Service{Key: "ns/f"}, want: []string{"192.0.2.4"}},
				{svc: Service{Key: "ns/g"}, reason: PoolExhausted},
				{op: "release", svc: Service{Key: "ns/d"}},
				{svc: Service{Key: "ns/g"}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name:  "the end of the address space",
			pools: []Pool{pool("top", "255.255.255.254/31", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack}, want: []string{"255.255.255.254", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"}},
				{svc: Service{Key: "ns/b", IPFamilyPolicy: RequireDualStack}, want: []string{"255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}},
				{svc: Service{Key: "ns/c", IPFamilyPolicy: RequireDualStack}, reason: PoolExhausted},
				{op: "release", svc: Service{Key: "ns/b"}},
				{svc: Service{Key: "ns/c", IPFamilyPolicy: RequireDualStack}, want: []string{"255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}},
			},
		},
		{
			name:  "ranges are used in address order whatever their order in the pool",
			pools: []Pool{pool("p", "198.51.100.7/32", "192.0.2.9-192.0.2.10")},
			steps: []step{
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.9"}},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.10"}},
				{svc: Service{Key: "ns/c"}, want: []string{"198.51.100.7"}},
				{svc: Service{Key: "ns/d"}, reason: PoolExhausted},
			},
		},
		{
			name:  "no pool at all",
			steps: []step{{svc: Service{Key: "ns/a", Namespace: "ns"}, reason: NoMatchingPool, msg: `no IPAddressPool with autoAssign admits this Service (namespace "ns")`}},
		},
		{
			name:  "autoAssign false pools are not used automatically, only when named",
			pools: []Pool{manual(pool("m", "192.0.2.0/30"))},
			steps: []step{
				{svc: Service{Key: "ns/a"}, reason: NoMatchingPool},
				{svc: Service{Key: "ns/a", Pool: "m"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/b", RequestedIPs: addrs("192.0.2.3")}, want: []string{"192.0.2.3"}},
			},
		},
		{
			name:  "requested address inside a pool",
			pools: []Pool{v4},
			steps: []step{{svc: Service{Key: "ns/a", RequestedIPs: addrs("192.0.2.2")}, want: []string{"192.0.2.2"}}},
		},
		{
			name:  "requested address outside every pool: existing assignment kept",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/a", RequestedIPs: addrs("203.0.113.5")}, reason: RequestedIPUnavailable, msg: "requested address 203.0.113.5 is not in any pool: add it to an IPAddressPool", want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "requested address in use by a non-sharing Service",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/a", RequestedIPs: addrs("192.0.2.1")}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/b", RequestedIPs: addrs("192.0.2.1")}, reason: RequestedIPUnavailable, msg: "address 192.0.2.1 is used by Service ns/a which does not share it", want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/c", SharingKey: "k", RequestedIPs: addrs("192.0.2.1")}, reason: RequestedIPUnavailable, msg: "used by Service ns/a which does not share it"},
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name:  "two requested addresses of one family",
			pools: []Pool{pool("d", "192.0.2.0/30", "2001:db8::/126")},
			steps: []step{
				{svc: Service{Key: "ns/a"}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/a", RequestedIPs: addrs("192.0.2.1", "192.0.2.2")}, reason: InvalidRequest, msg: "two IPv4 addresses are requested (192.0.2.1 and 192.0.2.2): request at most one address per family", want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack, RequestedIPs: addrs("2001:db8::1", "2001:db8::2")}, reason: InvalidRequest, msg: "two IPv6 addresses", want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "requested address of a family the Service does not have",
			pools: []Pool{pool("d", "192.0.2.0/30", "2001:db8::/126")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilies: []Family{IPv4}, RequestedIPs: addrs("2001:db8::1")}, reason: InvalidRequest, msg: "IPv6 address 2001:db8::1 is requested but the Service's ipFamilyPolicy/ipFamilies give it only IPv4"},
				{svc: Service{Key: "ns/a", RequestedIPs: addrs("2001:db8::1")}, want: []string{"2001:db8::1"}},
			},
		},
		{
			name:  "dual-stack requested addresses, primary family first, from different pools",
			pools: []Pool{pool("a4", "192.0.2.0/30"), pool("b6", "2001:db8::/126")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack, IPFamilies: []Family{IPv6, IPv4}, RequestedIPs: addrs("192.0.2.3", "2001:db8::3")}, want: []string{"2001:db8::3", "192.0.2.3"}},
				{svc: Service{Key: "ns/b", IPFamilyPolicy: RequireDualStack, RequestedIPs: addrs("192.0.2.2")}, reason: InvalidRequest, msg: "the Service is RequireDualStack but requests only 192.0.2.2: request one address per family"},
			},
		},
		{
			name:  "requested address and address-pool annotation must agree",
			pools: []Pool{pool("a", "192.0.2.0/30"), pool("b", "198.51.100.0/30")},
			steps: []step{
				{svc: Service{Key: "ns/a", Pool: "b", RequestedIPs: addrs("192.0.2.1")}, reason: RequestedIPUnavailable, msg: `requested address 192.0.2.1 is in pool "a", not in pool "b" named by the address-pool annotation`},
				{svc: Service{Key: "ns/a", Pool: "b", RequestedIPs: addrs("198.51.100.1")}, want: []string{"198.51.100.1"}},
				{svc: Service{Key: "ns/b", Pool: "nope", RequestedIPs: addrs("198.51.100.2")}, reason: InvalidRequest, msg: `names pool "nope", which does not exist`},
			},
		},
		{
			name:  "address-pool annotation",
			pools: []Pool{pool("a", "192.0.2.0/30"), pool("b", "198.51.100.0/30")},
			steps: []step{
				{svc: Service{Key: "ns/a", Pool: "b"}, want: []string{"198.51.100.0"}},
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.0"}},
				// A missing pool is an invalid request, and the address is kept.
				{svc: Service{Key: "ns/b", Pool: "missing"}, reason: InvalidRequest, msg: `the address-pool annotation names pool "missing", which does not exist or is invalid: create it, fix it, or change the annotation`, want: []string{"192.0.2.0"}},
				// Changing the annotation moves the Service.
				{svc: Service{Key: "ns/b", Pool: "b"}, want: []string{"198.51.100.1"}},
				{svc: Service{Key: "ns/c"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name: "serviceAllocation: matching pools by priority (0 last) then name, before plain pools",
			pools: []Pool{
				pool("aaa-plain", "192.0.2.0/30"),
				withSA(pool("p0", "198.51.100.0/30"), ServiceAllocation{Namespaces: []string{"team"}}),
				withSA(pool("p2", "198.51.100.4/30"), ServiceAllocation{Priority: 2, Namespaces: []string{"team"}}),
				withSA(pool("p1b", "198.51.100.12/30"), ServiceAllocation{Priority: 1, Namespaces: []string{"team"}}),
				withSA(pool("p1a", "198.51.100.8/31"), ServiceAllocation{Priority: 1, Namespaces: []string{"team"}}),
			},
			steps: []step{
				{svc: Service{Key: "team/a", Namespace: "team"}, want: []string{"198.51.100.8"}},
				{svc: Service{Key: "team/b", Namespace: "team"}, want: []string{"198.51.100.9"}},
				{svc: Service{Key: "team/c", Namespace: "team"}, want: []string{"198.51.100.12"}},
				{svc: Service{Key: "other/a", Namespace: "other"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name: "serviceAllocation: namespace selectors and service selectors",
			pools: []Pool{
				pool("zz-plain", "192.0.2.0/30"),
				withSA(pool("prod", "198.51.100.0/30"), ServiceAllocation{Priority: 1, NamespaceSelectors: []labels.Selector{sel("env=prod")}}),
				withSA(pool("web", "198.51.100.4/30"), ServiceAllocation{Priority: 2, ServiceSelectors: []labels.Selector{sel("tier=web")}}),
				withSA(pool("both", "198.51.100.8/30"), ServiceAllocation{Priority: 3, Namespaces: []string{"x"}, ServiceSelectors: []labels.Selector{sel("tier=db")}}),
			},
			steps: []step{
				{svc: Service{Key: "p/a", Namespace: "p", NamespaceLabels: map[string]string{"env": "prod"}}, want: []string{"198.51.100.0"}},
				{svc: Service{Key: "d/a", Namespace: "d", NamespaceLabels: map[string]string{"env": "dev"}, Labels: map[string]string{"tier": "web"}}, want: []string{"198.51.100.4"}},
				{svc: Service{Key: "x/a", Namespace: "x", Labels: map[string]string{"tier": "db"}}, want: []string{"198.51.100.8"}},
				{svc: Service{Key: "y/a", Namespace: "y", Labels: map[string]string{"tier": "db"}}, want: []string{"192.0.2.0"}},
				// A requested address of a pool that does not admit the Service.
				{svc: Service{Key: "y/b", Namespace: "y", RequestedIPs: addrs("198.51.100.1")}, reason: RequestedIPUnavailable, msg: `is in pool "prod", whose serviceAllocation does not admit this Service (namespace "y")`},
				// An annotated pool that does not admit the Service.
				{svc: Service{Key: "y/b", Namespace: "y", Pool: "prod"}, reason: NoMatchingPool, msg: `pool "prod" named by the address-pool annotation does not admit this Service`},
			},
		},
		{
			name: "a pool that stops admitting a Service moves it",
			pools: []Pool{
				pool("zz-plain", "192.0.2.0/30"),
				withSA(pool("team", "198.51.100.0/30"), ServiceAllocation{Priority: 1, Namespaces: []string{"team"}}),
			},
			steps: []step{
				{svc: Service{Key: "team/a", Namespace: "team", Labels: map[string]string{"x": "y"}}, want: []string{"198.51.100.0"}},
				{op: "pools", pools: []Pool{pool("zz-plain", "192.0.2.0/30"), withSA(pool("team", "198.51.100.0/30"), ServiceAllocation{Priority: 1, Namespaces: []string{"other"}})}},
				{svc: Service{Key: "team/a", Namespace: "team"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "sharing: same key, distinct ports, same policy share one address",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/dns-tcp", SharingKey: "dns", Ports: tcp(53)}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/dns-udp", SharingKey: "dns", Ports: []Port{{Protocol: "UDP", Port: 53}}}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/other", SharingKey: "other", Ports: tcp(80)}, want: []string{"192.0.2.1"}},
				// Release of one user keeps the address for the other.
				{op: "release", svc: Service{Key: "ns/dns-tcp"}},
				{svc: Service{Key: "ns/x"}, want: []string{"192.0.2.2"}},
				{svc: Service{Key: "ns/dns-udp", SharingKey: "dns", Ports: []Port{{Protocol: "UDP", Port: 53}}}, want: []string{"192.0.2.0"}},
				// Release of the last user frees it.
				{op: "release", svc: Service{Key: "ns/dns-udp"}},
				{svc: Service{Key: "ns/y"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "sharing key with a port clash",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/a", SharingKey: "k", Ports: tcp(80, 443)}, want: []string{"192.0.2.0"}},
				// Asked for explicitly: a conflict the user must fix.
				{svc: Service{Key: "ns/b", SharingKey: "k", Ports: tcp(443), RequestedIPs: addrs("192.0.2.0")}, reason: SharingConflict, msg: `address 192.0.2.0 is shared (key "k") with Service ns/a, which already uses port 443/TCP: use another port, or another sharing key`},
				// An empty protocol is TCP.
				{svc: Service{Key: "ns/b", SharingKey: "k", Ports: []Port{{Port: 80}}, RequestedIPs: addrs("192.0.2.0")}, reason: SharingConflict, msg: "already uses port 80/TCP"},
				// The same port number over UDP does not clash.
				{svc: Service{Key: "ns/u", SharingKey: "k", Ports: []Port{{Protocol: "UDP", Port: 443}}, RequestedIPs: addrs("192.0.2.0")}, want: []string{"192.0.2.0"}},
				{op: "release", svc: Service{Key: "ns/u"}},
				// Automatic: another address.
				{svc: Service{Key: "ns/b", SharingKey: "k", Ports: tcp(443)}, want: []string{"192.0.2.1"}},
				// A third with a free port shares the lowest compatible address.
				{svc: Service{Key: "ns/c", SharingKey: "k", Ports: tcp(8080)}, want: []string{"192.0.2.0"}},
				// Port change to a clash moves the Service, keeping the others.
				{svc: Service{Key: "ns/c", SharingKey: "k", Ports: tcp(80)}, want: []string{"192.0.2.1"}},
				{svc: Service{Key: "ns/a", SharingKey: "k", Ports: tcp(80, 443)}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "sharing: traffic policy and Local selector must agree",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/a", SharingKey: "k", Ports: tcp(80), TrafficPolicy: TrafficLocal, Selector: map[string]string{"app": "a"}}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/b", SharingKey: "k", Ports: tcp(81), RequestedIPs: addrs("192.0.2.0")}, reason: SharingConflict, msg: "whose externalTrafficPolicy is Local, not Cluster"},
				{svc: Service{Key: "ns/b", SharingKey: "k", Ports: tcp(81), TrafficPolicy: TrafficLocal, Selector: map[string]string{"app": "b"}, RequestedIPs: addrs("192.0.2.0")}, reason: SharingConflict, msg: "Local Services sharing an address must select the same pods"},
				{svc: Service{Key: "ns/b", SharingKey: "k", Ports: tcp(81), TrafficPolicy: TrafficLocal, Selector: map[string]string{"app": "a"}, RequestedIPs: addrs("192.0.2.0")}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/c", SharingKey: "other", Ports: tcp(82), RequestedIPs: addrs("192.0.2.0")}, reason: RequestedIPUnavailable, msg: `used by Service ns/a with sharing key "k"`},
			},
		},
		{
			name:  "sharing: a Cluster pair shares whatever the selectors",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/a", SharingKey: "k", Ports: tcp(80), Selector: map[string]string{"app": "a"}}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/b", SharingKey: "k", Ports: tcp(81), TrafficPolicy: TrafficCluster, Selector: map[string]string{"app": "b"}}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "sharing key change on a sole user keeps the address",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/a", SharingKey: "k1", Ports: tcp(80)}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/a", SharingKey: "k2", Ports: tcp(80)}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/b", SharingKey: "k2", Ports: tcp(81)}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/c", SharingKey: "k1", Ports: tcp(82)}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name:  "dual-stack: RequireDualStack from a pool with both families",
			pools: []Pool{pool("a4", "192.0.2.0/30"), pool("b6", "2001:db8:1::/126"), pool("c-dual", "198.51.100.0/30", "2001:db8:2::/126")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack, IPFamilies: []Family{IPv4, IPv6}}, want: []string{"198.51.100.0", "2001:db8:2::1"}},
				{svc: Service{Key: "ns/b", IPFamilyPolicy: RequireDualStack, IPFamilies: []Family{IPv6, IPv4}}, want: []string{"2001:db8:2::2", "198.51.100.1"}},
				// PreferDualStack also takes the dual pool before single-family ones.
				{svc: Service{Key: "ns/c", IPFamilyPolicy: PreferDualStack, IPFamilies: []Family{IPv4}}, want: []string{"198.51.100.2", "2001:db8:2::3"}},
				{svc: Service{Key: "ns/d", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8:1::1"}},
				{svc: Service{Key: "ns/e"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "dual-stack: RequireDualStack with no dual pool; PreferDualStack falls back to one family",
			pools: []Pool{pool("a4", "192.0.2.0/30"), pool("b6", "2001:db8::/126")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilies: []Family{IPv4}}, want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack, IPFamilies: []Family{IPv4, IPv6}}, reason: NoMatchingPool, msg: "the Service is RequireDualStack but no single pool it may use has both IPv4 and IPv6 addresses: add both families to one pool, or use PreferDualStack", want: []string{"192.0.2.0"}},
				{svc: Service{Key: "ns/b", IPFamilyPolicy: PreferDualStack, IPFamilies: []Family{IPv6, IPv4}}, want: []string{"2001:db8::1"}},
				{svc: Service{Key: "ns/c", IPFamilyPolicy: PreferDualStack, IPFamilies: []Family{IPv4, IPv6}}, want: []string{"192.0.2.1"}},
			},
		},
		{
			name:  "dual-stack: a single-stack Service becoming dual keeps its address and adds the other family from the same pool",
			pools: []Pool{pool("a-dual", "192.0.2.0/30", "2001:db8::/126"), pool("b-dual", "198.51.100.0/30", "2001:db8:1::/126")},
			steps: []step{
				{svc: Service{Key: "ns/a", Pool: "b-dual"}, want: []string{"198.51.100.0"}},
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack}, want: []string{"198.51.100.0", "2001:db8:1::1"}},
				// and back to single stack: the v6 address is freed.
				{svc: Service{Key: "ns/a", IPFamilyPolicy: SingleStack, IPFamilies: []Family{IPv4}}, want: []string{"198.51.100.0"}},
				{svc: Service{Key: "ns/b", IPFamilies: []Family{IPv6}, Pool: "b-dual"}, want: []string{"2001:db8:1::1"}},
			},
		},
		{
			name:  "dual-stack: RequireDualStack whose pool runs out of one family moves to another dual pool, atomically",
			pools: []Pool{pool("a-dual", "192.0.2.0/30", "2001:db8::/128"), pool("b-dual", "198.51.100.0/30", "2001:db8:1::/126")},
			steps: []step{
				{svc: Service{Key: "ns/x", IPFamilies: []Family{IPv6}}, want: []string{"2001:db8::"}},
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack}, want: []string{"198.51.100.0", "2001:db8:1::1"}},
				// a-dual's IPv4 address taken and given back: the next Service gets it.
				{svc: Service{Key: "ns/b"}, want: []string{"192.0.2.0"}},
			},
		},
		{
			name:  "dual-stack exhaustion",
			pools: []Pool{pool("d", "192.0.2.0/32", "2001:db8::/128")},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilyPolicy: RequireDualStack}, want: []string{"192.0.2.0", "2001:db8::"}},
				{svc: Service{Key: "ns/b", IPFamilyPolicy: RequireDualStack}, reason: PoolExhausted, msg: "every usable IPv4 and IPv6 address of pool(s) d is assigned"},
				{svc: Service{Key: "ns/b", IPFamilyPolicy: PreferDualStack}, reason: PoolExhausted},
			},
		},
		{
			name:  "invalid Service fields",
			pools: []Pool{v4},
			steps: []step{
				{svc: Service{Key: "ns/a", IPFamilyPolicy: "Both"}, reason: InvalidRequest, msg: `ipFamilyPolicy "Both" is unknown`},
				{svc: Service{Key: "ns/a", IPFamilies: []Family{"IPv5"}}, reason: InvalidRequest, msg: `ipFamilies[0] is "IPv5"`},
				{svc: Service{}, reason: InvalidRequest},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New()
			if res := a.SetPools(tt.pools); len(res.Errors) > 0 {
				t.Fatalf("SetPools: %v", res.Errors)
			}
			run(t, a, tt.steps)
		})
	}
}
