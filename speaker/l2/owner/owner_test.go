package owner

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ips returns n consecutive addresses from start.
func ips(start string, n int) []netip.Addr {
	a := netip.MustParseAddr(start)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = a
		a = a.Next()
	}
	return out
}

func count(assigned map[netip.Addr]string) map[string]int {
	c := map[string]int{}
	for _, n := range assigned {
		c[n]++
	}
	return c
}

func eligibleAll(addrs []netip.Addr, nodes ...string) map[netip.Addr][]string {
	m := make(map[netip.Addr][]string, len(addrs))
	for _, a := range addrs {
		m[a] = nodes
	}
	return m
}

func TestOwner(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name  string
		nodes []string
		want  string
	}{
		{name: "no nodes", nodes: nil, want: ""},
		{name: "one node", nodes: []string{"node-a"}, want: "node-a"},
		{name: "order does not matter", nodes: []string{"node-c", "node-a", "node-b"}, want: Owner(ip, []string{"node-a", "node-b", "node-c"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Owner(ip, tc.nodes)); diff != "" {
				t.Errorf("Owner(%s, %v) mismatch (-want +got):\n%s", ip, tc.nodes, diff)
			}
		})
	}
}

func TestAssignSpread(t *testing.T) {
	tests := []struct {
		name    string
		addrs   []netip.Addr
		nodes   []string
		maxEach int
		minEach int
	}{
		{name: "30 v4 IPs over 3 nodes", addrs: ips("192.0.2.1", 30), nodes: []string{"node-a", "node-b", "node-c"}, maxEach: 15, minEach: 5},
		{name: "30 v6 IPs over 3 nodes", addrs: ips("2001:db8:200::1", 30), nodes: []string{"node-a", "node-b", "node-c"}, maxEach: 15, minEach: 5},
		// 1000/3 = 333: allow ±15%.
		{name: "1000 IPs over 3 nodes", addrs: ips("2001:db8:200::1", 1000), nodes: []string{"node-a", "node-b", "node-c"}, maxEach: 383, minEach: 283},
		// 1000/10 = 100: allow ±30%.
		{name: "1000 IPs over 10 nodes", addrs: ips("2001:db8:200::1", 1000), nodes: []string{"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"}, maxEach: 130, minEach: 70},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := count(Assign(eligibleAll(tc.addrs, tc.nodes...), tc.nodes))
			total := 0
			for _, n := range tc.nodes {
				total += got[n]
				if got[n] > tc.maxEach || got[n] < tc.minEach {
					t.Errorf("node %s owns %d IPs, want between %d and %d (all: %v)", n, got[n], tc.minEach, tc.maxEach, got)
				}
			}
			if total != len(tc.addrs) {
				t.Errorf("%d IPs assigned, want %d", total, len(tc.addrs))
			}
		})
	}
}

func TestAssignEligibility(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8:200::1")
	tests := []struct {
		name     string
		eligible map[netip.Addr][]string
		live     []string
		want     map[netip.Addr]string
	}{
		{
			name:     "only eligible node answers",
			eligible: map[netip.Addr][]string{a: {"node-b"}, b: {"node-c"}},
			live:     []string{"node-a", "node-b", "node-c"},
			want:     map[netip.Addr]string{a: "node-b", b: "node-c"},
		},
		{
			name:     "eligible node not live: IP left out",
			eligible: map[netip.Addr][]string{a: {"node-b"}, b: {"node-c"}},
			live:     []string{"node-a", "node-c"},
			want:     map[netip.Addr]string{b: "node-c"},
		},
		{
			name:     "no live nodes",
			eligible: map[netip.Addr][]string{a: {"node-a"}},
			live:     nil,
			want:     map[netip.Addr]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Assign(tc.eligible, tc.live)); diff != "" {
				t.Errorf("Assign mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAssignMinimalMoves checks that an IP moves only when its owner leaves,
// and comes back to it when it returns.
func TestAssignMinimalMoves(t *testing.T) {
	all := []string{"node-a", "node-b", "node-c"}
	eligible := eligibleAll(ips("192.0.2.1", 200), all...)
	before := Assign(eligible, all)
	for _, gone := range all {
		t.Run(fmt.Sprintf("%s leaves", gone), func(t *testing.T) {
			var rest []string
			for _, n := range all {
				if n != gone {
					rest = append(rest, n)
				}
			}
			after := Assign(eligible, rest)
			moved := 0
			for ip, was := range before {
				now := after[ip]
				if was != gone && now != was {
					t.Errorf("IP %s moved from %s to %s though %s is still live", ip, was, now, was)
				}
				if was == gone {
					moved++
					if now == gone || now == "" {
						t.Errorf("IP %s of departed %s has owner %q", ip, gone, now)
					}
				}
			}
			if moved == 0 {
				t.Errorf("%s owned no IPs out of 200", gone)
			}
			if diff := cmp.Diff(before, Assign(eligible, all)); diff != "" {
				t.Errorf("owners after %s comes back differ (-before +after):\n%s", gone, diff)
			}
		})
	}
}

// TestAssignSameEverywhere checks that nodes listing the live set in
// different orders compute the same owners.
func TestAssignSameEverywhere(t *testing.T) {
	eligible := eligibleAll(ips("2001:db8:200::1", 100), "node-c", "node-a", "node-b")
	want := Assign(eligible, []string{"node-a", "node-b", "node-c"})
	for _, live := range [][]string{{"node-c", "node-b", "node-a"}, {"node-b", "node-a", "node-c"}} {
		if diff := cmp.Diff(want, Assign(eligible, live)); diff != "" {
			t.Errorf("Assign with live %v differs (-want +got):\n%s", live, diff)
		}
	}
}

func BenchmarkAssign(b *testing.B) {
	nodes := []string{"node-a", "node-b", "node-c"}
	eligible := eligibleAll(ips("192.0.2.1", 100), nodes...)
	for b.Loop() {
		Assign(eligible, nodes)
	}
}
