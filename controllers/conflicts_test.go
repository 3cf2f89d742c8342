package controllers

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

func TestConflicts(t *testing.T) {
	v4, v6, other := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8:200::10"), netip.MustParseAddr("192.0.2.99")
	state := func(name string, cs ...v1beta1.IPConflict) v1beta1.NodeState {
		return v1beta1.NodeState{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1beta1.NodeStateStatus{IPConflicts: cs}}
	}
	tests := []struct {
		name   string
		states []v1beta1.NodeState
		want   map[netip.Addr][]string
	}{
		{"none", []v1beta1.NodeState{state("node1")}, map[netip.Addr][]string{}},
		{"L2 probe answered, another Service's IP ignored", []v1beta1.NodeState{
			state("node1", v1beta1.IPConflict{IP: "192.0.2.10", Mode: "L2", Interface: "eth1", MAC: "02:00:00:00:00:64"},
				v1beta1.IPConflict{IP: other.String(), Mode: "L2", Interface: "eth1", MAC: "02:00:00:00:00:65"})},
			map[netip.Addr][]string{v4: {"host 02:00:00:00:00:64 answers for it on node1's interface eth1: node1 does not announce it, and probes again with backoff until that host lets it go; find the host with MAC 02:00:00:00:00:64 and remove the address"}}},
		{"L2 claimed while answering, BGP on an interface, by node name", []v1beta1.NodeState{
			state("node2", v1beta1.IPConflict{IP: "2001:db8:200::10", Mode: "BGP", Interface: "lo"}),
			state("node1", v1beta1.IPConflict{IP: "2001:db8:200::10", Mode: "L2", Interface: "eth1", MAC: "02:00:00:00:00:64", Announcing: true})},
			map[netip.Addr][]string{v6: {
				"host 02:00:00:00:00:64 claimed it on node1's interface eth1 while node1 answered for it: node1 keeps answering and does not fight over it; find the host with MAC 02:00:00:00:00:64 and remove the address",
				"node node2 has it on its interface lo, put there by something other than herald: not announced over BGP from node2; remove the address or give the Service another IP"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Conflicts([]netip.Addr{v4, v6}, tc.states), addrKeys); diff != "" {
				t.Errorf("Conflicts (-want +got):\n%s", diff)
			}
		})
	}
}

var addrKeys = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
