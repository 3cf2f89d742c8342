package planner

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

func TestPlanHealthGates(t *testing.T) {
	l2 := func(s *Snapshot) { s.L2Advertisements = []v1beta1.L2Advertisement{{ObjectMeta: meta("l2")}} }
	gate := func(nodes ...string) func(*Snapshot) {
		return func(s *Snapshot) { s.HealthGates = HealthGates{"default/web": nodes} }
	}
	local := func(ready ...any) func(*Snapshot) {
		return func(s *Snapshot) {
			s.Services[0].Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.EndpointSlices = []discoveryv1.EndpointSlice{slice("web", ready...)}
		}
	}
	onlyNode1Advertises := func(s *Snapshot) { s.BGPAdvertisements[0].Spec.NodeSelectors = hostSel("node1") }
	shared := func(s *Snapshot) {
		s.Services = append(s.Services, svc("db", corev1.ServiceExternalTrafficPolicyCluster, "192.0.2.10"))
	}
	tests := []struct {
		name        string
		mod         []func(*Snapshot)
		node        string
		wantPrefix  []netip.Prefix
		wantHealth  []HealthGate
		wantL2Nodes []string
	}{
		{name: "no gate: announced", mod: []func(*Snapshot){l2}, node: "node2",
			wantPrefix: pfxs("192.0.2.10/32"), wantL2Nodes: []string{"node1", "node2", "node3"}},
		{name: "gated: withdrawn here, L2 hands over", mod: []func(*Snapshot){l2, gate("node2")}, node: "node2",
			wantHealth: []HealthGate{{Service: "default/web"}}, wantL2Nodes: []string{"node1", "node3"}},
		{name: "another node gated: announced here", mod: []func(*Snapshot){l2, gate("node2")}, node: "node1",
			wantPrefix: pfxs("192.0.2.10/32"), wantL2Nodes: []string{"node1", "node3"}},
		{name: "every node gated: fail-open", mod: []func(*Snapshot){l2, gate("node1", "node2", "node3")}, node: "node2",
			wantPrefix: pfxs("192.0.2.10/32"), wantHealth: []HealthGate{{Service: "default/web", FailOpen: true}},
			wantL2Nodes: []string{"node1", "node2", "node3"}},
		{name: "Local: the only other ready node is gated too: fail-open", node: "node2",
			mod:        []func(*Snapshot){gate("node1", "node2"), local("node1", true, "node2", true, "node3", false)},
			wantPrefix: pfxs("192.0.2.10/32"), wantHealth: []HealthGate{{Service: "default/web", FailOpen: true}}},
		{name: "Local: a healthy ready node elsewhere: withdrawn", node: "node2",
			mod:        []func(*Snapshot){gate("node2"), local("node1", true, "node2", true)},
			wantHealth: []HealthGate{{Service: "default/web"}}},
		{name: "the healthy nodes have no advertisement: fail-open", node: "node1",
			mod:        []func(*Snapshot){gate("node1"), onlyNode1Advertises},
			wantPrefix: pfxs("192.0.2.10/32"), wantHealth: []HealthGate{{Service: "default/web", FailOpen: true}}},
		{name: "the healthy nodes are cordoned: fail-open", node: "node1",
			mod: []func(*Snapshot){gate("node1"), func(s *Snapshot) {
				s.Nodes[1].Spec.Unschedulable, s.Nodes[2].Spec.Unschedulable = true, true
			}},
			wantPrefix: pfxs("192.0.2.10/32"), wantHealth: []HealthGate{{Service: "default/web", FailOpen: true}}},
		{name: "an ungated Service sharing the IP keeps the prefix", mod: []func(*Snapshot){gate("node2"), shared}, node: "node2",
			wantPrefix: pfxs("192.0.2.10/32"), wantHealth: []HealthGate{{Service: "default/web"}}},
	}
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			for _, m := range tt.mod {
				m(&s)
			}
			got := Plan(&s, tt.node)
			var prefixes []netip.Prefix
			for _, n := range got.Neighbors {
				prefixes = append(prefixes, n.Prefixes...)
			}
			if diff := cmp.Diff(tt.wantPrefix, prefixes, opts); diff != "" {
				t.Errorf("prefixes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantHealth, got.Health, opts); diff != "" {
				t.Errorf("Health (-want +got):\n%s", diff)
			}
			var l2Nodes []string
			for _, l := range got.L2 {
				l2Nodes = append(l2Nodes, l.Nodes...)
			}
			if diff := cmp.Diff(tt.wantL2Nodes, l2Nodes, opts); diff != "" {
				t.Errorf("L2 nodes (-want +got):\n%s", diff)
			}
		})
	}
}
