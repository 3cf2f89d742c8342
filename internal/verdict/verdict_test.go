package verdict

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// t0 is the creation time of the oldest objects of the tests.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// meta is an object's metadata created age seconds after t0.
func meta(name string, age int) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "herald-system", CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second))}
}

// pool returns an IPAddressPool created at second age; opts edit it.
func pool(name string, addrs []string, opts ...func(*v1beta1.IPAddressPool)) *v1beta1.IPAddressPool {
	p := &v1beta1.IPAddressPool{ObjectMeta: meta(name, 0)}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func at(age int) func(*v1beta1.IPAddressPool) {
	return func(p *v1beta1.IPAddressPool) {
		p.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(age) * time.Second))
	}
}

func pools(ps ...*v1beta1.IPAddressPool) []v1beta1.IPAddressPool {
	out := make([]v1beta1.IPAddressPool, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b metav1.ObjectMeta
		want int
	}{
		{name: "older first whatever the names", a: meta("z", 0), b: meta("a", 1), want: -1},
		{name: "newer last", a: meta("a", 5), b: meta("z", 1), want: 1},
		{name: "same second: by name", a: meta("a", 3), b: meta("b", 3), want: -1},
		{name: "the same object", a: meta("a", 3), b: meta("a", 3), want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Compare(&tc.a, &tc.b); got != tc.want {
				t.Errorf("Compare(%s@%s, %s@%s) = %d, want %d", tc.a.Name, tc.a.CreationTimestamp, tc.b.Name, tc.b.CreationTimestamp, got, tc.want)
			}
		})
	}
}

func TestByAge(t *testing.T) {
	ps := []v1beta1.BGPPeer{{ObjectMeta: meta("a-new", 9)}, {ObjectMeta: meta("m", 2)}, {ObjectMeta: meta("b", 2)}, {ObjectMeta: meta("z-old", 0)}}
	ByAge(ps)
	var got []string
	for _, p := range ps {
		got = append(got, p.Name)
	}
	if diff := cmp.Diff([]string{"z-old", "b", "m", "a-new"}, got); diff != "" {
		t.Errorf("ByAge (-want +got):\n%s", diff)
	}
}

func TestDecidePools(t *testing.T) {
	tests := []struct {
		name     string
		pools    []v1beta1.IPAddressPool
		inEffect []string
		rejected map[string]Rejection
	}{
		{
			name:     "disjoint pools are all in effect, oldest first",
			pools:    pools(pool("b", []string{"192.0.2.0/28"}, at(0)), pool("a", []string{"192.0.2.16/28", "2001:db8:200::/64"}, at(1))),
			inEffect: []string{"b", "a"},
			rejected: map[string]Rejection{},
		},
		{
			// Issue 15 item 1: the newcomer's name sorts first; it must
			// not take the live pool's addresses.
			name:     "a new pool overlapping a live one is rejected even when its name sorts first",
			pools:    pools(pool("live", []string{"192.0.2.0/24"}, at(0)), pool("aaa-new", []string{"192.0.2.10-192.0.2.20", "198.51.100.0/30"}, at(60))),
			inEffect: []string{"live"},
			rejected: map[string]Rejection{"aaa-new": {Kind: KindIPAddressPool, Name: "aaa-new", Field: "spec.addresses[0]", Reason: ReasonOverlappingPool, InEffect: "live",
				Message: `addresses 192.0.2.10-192.0.2.20 overlap 192.0.2.0/24 of pool "live", which is older and keeps them: remove the shared addresses 192.0.2.10-192.0.2.20 from this pool (or from pool "live")`}},
		},
		{
			name:     "created in the same second: the name decides",
			pools:    pools(pool("b", []string{"2001:db8:200::/64"}), pool("a", []string{"2001:db8:200::/120"})),
			inEffect: []string{"a"},
			rejected: map[string]Rejection{"b": {Kind: KindIPAddressPool, Name: "b", Field: "spec.addresses[0]", Reason: ReasonOverlappingPool, InEffect: "a",
				Message: `addresses 2001:db8:200::/64 overlap 2001:db8:200::/120 of pool "a", which is older and keeps them: remove the shared addresses 2001:db8:200::/120 from this pool (or from pool "a")`}},
		},
		{
			name: "an invalid pool is rejected and takes nothing from a newer pool",
			pools: pools(pool("bad", []string{"192.0.2.0/24", "192.0.2.5/32"}, at(0)),
				pool("good", []string{"192.0.2.0/24"}, at(1))),
			inEffect: []string{"good"},
			rejected: map[string]Rejection{"bad": {Kind: KindIPAddressPool, Name: "bad", Field: "spec", Reason: ReasonInvalidPool,
				Message: `pool "bad": addresses 192.0.2.0/24 and 192.0.2.5/32 overlap: list each address once`}},
		},
		{
			name: "a pool with a selector that does not parse is rejected",
			pools: pools(pool("sel", []string{"192.0.2.0/24"}, func(p *v1beta1.IPAddressPool) {
				p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"a b": "c"}}}}
			})),
			rejected: map[string]Rejection{"sel": {Kind: KindIPAddressPool, Name: "sel", Field: "spec", Reason: ReasonInvalidPool}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecidePools(tc.pools)
			if diff := cmp.Diff(tc.inEffect, got.InEffect); diff != "" {
				t.Errorf("InEffect (-want +got):\n%s", diff)
			}
			for name, r := range got.Rejected {
				if w, ok := tc.rejected[name]; ok && w.Message == "" {
					r.Message = "" // only the reason and field matter here
					got.Rejected[name] = r
				}
			}
			if diff := cmp.Diff(tc.rejected, got.Rejected); diff != "" {
				t.Errorf("Rejected (-want +got):\n%s", diff)
			}
			// Deterministic: the order of the input does not matter.
			rev := make([]v1beta1.IPAddressPool, len(tc.pools))
			for i := range tc.pools {
				rev[len(rev)-1-i] = tc.pools[i]
			}
			if again := DecidePools(rev); !cmp.Equal(again.InEffect, DecidePools(tc.pools).InEffect) {
				t.Errorf("the verdict depends on the order of the list: %v vs %v", again.InEffect, got.InEffect)
			}
		})
	}
}

func community(name string, age int, kv ...string) v1beta1.Community {
	c := v1beta1.Community{ObjectMeta: meta(name, age)}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Spec.Communities = append(c.Spec.Communities, v1beta1.CommunityAlias{Name: kv[i], Value: v1beta1.CommunityValue(kv[i+1])})
	}
	return c
}

func TestDecideCommunities(t *testing.T) {
	tests := []struct {
		name     string
		cs       []v1beta1.Community
		want     map[string]Alias
		rejected []Rejection
	}{
		{
			name: "an alias redefined by a newer Community keeps the older value, even when the newcomer's name sorts first",
			cs:   []v1beta1.Community{community("live", 0, "gold", "64500:100", "silver", "64500:200"), community("a-new", 30, "gold", "64500:999")},
			want: map[string]Alias{"gold": {Value: "64500:100", From: "live"}, "silver": {Value: "64500:200", From: "live"}},
			rejected: []Rejection{{Kind: KindCommunity, Name: "a-new", Field: "spec.communities[0]", Reason: ReasonConflictingCommunity, InEffect: "live",
				Message: `alias "gold" is "64500:999" here but "64500:100" in Community live, which is older and keeps it: give the alias one value, or rename it here`}},
		},
		{
			name: "the same value twice is no conflict",
			cs:   []v1beta1.Community{community("b", 0, "gold", "64500:100"), community("a", 1, "gold", "64500:100", "bronze", "large:1:2:3")},
			want: map[string]Alias{"gold": {Value: "64500:100", From: "b"}, "bronze": {Value: "large:1:2:3", From: "a"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rej := DecideCommunities(tc.cs)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("aliases (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.rejected, rej); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
		})
	}
}
