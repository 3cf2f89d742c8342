package planner

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// TestPlannerMatchesPlan applies random changes to a cluster (Services
// added, removed and edited, pools, advertisements, peers, nodes and
// endpoints edited) and checks after each that a Planner, which reuses
// its last plans, gives exactly what Plan gives from scratch.
func TestPlannerMatchesPlan(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 19))
			s := base()
			s.Pools = append(s.Pools, poolObj("big", "198.18.0.0/24", "2001:db8:300::/120"))
			s.Peers = append(s.Peers, peer("router6", "2001:db8:100::1", 64512, 64512))
			s.Services = nil
			for i := range 30 {
				s.Services = append(s.Services, randomService(rng, i))
			}
			planners := map[string]*Planner{"node1": {}, "node2": {}}
			for step := range 60 {
				what := randomChange(rng, &s, step)
				for node, p := range planners {
					if step%7 == 6 {
						// A caller that reorders a Result's prefixes in
						// place (the Planner keeps them) costs a sort,
						// not a wrong plan.
						for _, ps := range p.orders {
							slices.Reverse(ps)
						}
					}
					want := Plan(&s, node)
					got := p.Plan(&s, node)
					// Exactly (nil and empty lists told apart): the
					// speaker compares configs with reflect.DeepEqual.
					if !reflect.DeepEqual(want, got) {
						t.Fatalf("step %d (%s), node %s: Planner differs from Plan (-Plan +Planner):\n%s", step, what, node,
							cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})))
					}
				}
				s.LastGood = Plan(&s, "node1").LastGood
			}
		})
	}
}

// randomService is Service i with one to three IPs of the pools (some
// shared with others, some aggregated to the same prefix), or none.
func randomService(rng *rand.Rand, i int) corev1.Service {
	policy := corev1.ServiceExternalTrafficPolicyCluster
	if rng.IntN(3) == 0 {
		policy = corev1.ServiceExternalTrafficPolicyLocal
	}
	var ips []string
	for range rng.IntN(4) {
		switch rng.IntN(3) {
		case 0:
			ips = append(ips, fmt.Sprintf("198.18.0.%d", rng.IntN(40)))
		case 1:
			ips = append(ips, fmt.Sprintf("2001:db8:300::%x", rng.IntN(40)))
		default:
			ips = append(ips, fmt.Sprintf("192.0.2.%d", rng.IntN(64)))
		}
	}
	return svc(fmt.Sprintf("s%d", i), policy, ips...)
}

// randomChange changes s at random and says how.
func randomChange(rng *rand.Rand, s *Snapshot, step int) string {
	switch rng.IntN(12) {
	case 0, 1, 2:
		s.Services = append(slices.Clone(s.Services), randomService(rng, 100+step))
		return "service added"
	case 3, 4:
		if len(s.Services) == 0 {
			return "nothing"
		}
		i := rng.IntN(len(s.Services))
		s.Services = slices.Delete(slices.Clone(s.Services), i, i+1)
		return "service removed"
	case 5, 6:
		if len(s.Services) == 0 {
			return "nothing"
		}
		i := rng.IntN(len(s.Services))
		s.Services = slices.Clone(s.Services)
		s.Services[i] = randomService(rng, 0)
		s.Services[i].Name = fmt.Sprintf("s%d-%d", i, step)
		return "service edited"
	case 7:
		s.Pools = slices.Clone(s.Pools)
		if rng.IntN(2) == 0 {
			s.Pools[1] = poolObj("big", "198.18.0.0/25", "2001:db8:300::/121")
		} else {
			s.Pools[1] = poolObj("big", "198.18.0.0/24", "2001:db8:300::/120")
		}
		return "pool edited"
	case 8:
		agg := int32(24 + rng.IntN(9))
		s.BGPAdvertisements = []v1beta1.BGPAdvertisement{adv("all"), adv("agg", func(a *v1beta1.BGPAdvertisementSpec) {
			a.IPAddressPools = []string{"big"}
			a.AggregationLength = &agg
			a.Communities = []v1beta1.CommunityOrAlias{v1beta1.CommunityOrAlias(fmt.Sprintf("65000:%d", rng.IntN(3)))}
			a.LocalPref = uint32(100 * rng.IntN(3))
		})}
		if rng.IntN(3) == 0 {
			s.BGPAdvertisements = s.BGPAdvertisements[:1]
		}
		return "advertisements edited"
	case 9:
		s.Nodes = slices.Clone(s.Nodes)
		i := rng.IntN(len(s.Nodes))
		s.Nodes[i].Spec.Unschedulable = !s.Nodes[i].Spec.Unschedulable
		return "node cordoned or uncordoned"
	case 10:
		s.EndpointSlices = nil
		for _, sv := range s.Services {
			if rng.IntN(2) == 0 {
				s.EndpointSlices = append(s.EndpointSlices, slice(sv.Name, "node1", rng.IntN(2) == 0, "node2", true))
			}
		}
		return "endpoints edited"
	default:
		s.Peers = slices.Clone(s.Peers)
		if s.Peers[1].Spec.PeerASN == 64512 {
			s.Peers[1].Spec.PeerASN = 64501
		} else {
			s.Peers[1].Spec.PeerASN = 64512
		}
		return "peer edited"
	}
}
