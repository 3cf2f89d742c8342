package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

func TestExplain(t *testing.T) {
	local := corev1.ServiceExternalTrafficPolicyLocal
	tests := []struct {
		name string
		mod  func(*Snapshot)
		want []Expected
	}{{
		name: "announced by every node to the peer",
		want: []Expected{{IP: addr("192.0.2.10"), Pool: "lab", BGP: map[string][]string{"node1": {"router"}, "node2": {"router"}, "node3": {"router"}}}},
	}, {
		name: "BGP and L2, only where the selectors and endpoints allow",
		mod: func(s *Snapshot) {
			s.Services = []corev1.Service{svc("web", local, "192.0.2.10")}
			s.EndpointSlices = []discoveryv1.EndpointSlice{slice("web", "node2", true, "node3", true)}
			s.BGPAdvertisements[0].Spec.NodeSelectors = hostSel("node2")
			s.L2Advertisements = []v1beta1.L2Advertisement{{ObjectMeta: meta("l2")}}
		},
		want: []Expected{{IP: addr("192.0.2.10"), Pool: "lab", BGP: map[string][]string{"node2": {"router"}}, L2Nodes: []string{"node2", "node3"}}},
	}, {
		name: "not in a pool",
		mod:  func(s *Snapshot) { s.Services = []corev1.Service{svc("web", "", "203.0.113.1")} },
		want: []Expected{{IP: addr("203.0.113.1"), BGP: map[string][]string{}, Reason: ReasonNotInPool}},
	}, {
		name: "no advertisement selects the pool",
		mod:  func(s *Snapshot) { s.BGPAdvertisements[0].Spec.IPAddressPools = []string{"other"} },
		want: []Expected{{IP: addr("192.0.2.10"), Pool: "lab", BGP: map[string][]string{}, Reason: ReasonNoAdvertisement}},
	}, {
		name: "Local without a ready endpoint",
		mod:  func(s *Snapshot) { s.Services = []corev1.Service{svc("web", local, "192.0.2.10")} },
		want: []Expected{{IP: addr("192.0.2.10"), Pool: "lab", BGP: map[string][]string{}, Reason: ReasonNoReadyEndpoint}},
	}, {
		name: "every node excluded",
		mod: func(s *Snapshot) {
			for i := range s.Nodes {
				s.Nodes[i].Labels[ExcludeLabel] = ""
			}
		},
		want: []Expected{{IP: addr("192.0.2.10"), Pool: "lab", BGP: map[string][]string{}, Reason: ReasonNoEligibleNode}},
	}, {
		name: "no peer",
		mod:  func(s *Snapshot) { s.Peers = nil },
		want: []Expected{{IP: addr("192.0.2.10"), Pool: "lab", BGP: map[string][]string{}, Reason: ReasonNoPeer}},
	}, {
		name: "peer and advertisement select different nodes",
		mod: func(s *Snapshot) {
			s.Peers[0].Spec.NodeSelectors = hostSel("node1")
			s.BGPAdvertisements[0].Spec.NodeSelectors = hostSel("node2")
		},
		want: []Expected{{IP: addr("192.0.2.10"), Pool: "lab", BGP: map[string][]string{}, Reason: ReasonNoEligibleNode}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			if tt.mod != nil {
				tt.mod(&s)
			}
			got := Explain(&s, "default/web")
			if diff := cmp.Diff(tt.want, got, cmpAddrs, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Expected{}, "Message")); diff != "" {
				t.Errorf("Explain (-want +got):\n%s", diff)
			}
			for _, e := range got {
				if (e.Reason == "") != (e.Message == "") {
					t.Errorf("reason %q with message %q", e.Reason, e.Message)
				}
			}
		})
	}
}
