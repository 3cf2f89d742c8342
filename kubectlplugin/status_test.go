package kubectlplugin

import (
	"bytes"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// TestFormatStatus prints hand-built snapshots; the golden files are
// testdata/TestFormatStatus_<name>.golden.
func TestFormatStatus(t *testing.T) {
	svc := func(ns, name string, typ corev1.ServiceType, ips ...string) corev1.Service {
		s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Type: typ}}
		for _, ip := range ips {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
		}
		return s
	}
	dual := svc("shop", "api", corev1.ServiceTypeLoadBalancer, "192.0.2.10", "2001:db8:200::10")
	dual.Status.Conditions = []metav1.Condition{
		{Type: ConditionIPAllocated, Status: metav1.ConditionTrue, Reason: "Allocated"},
		{Type: ConditionAnnounced, Status: metav1.ConditionTrue, Reason: "Announced"},
	}
	pools := []v1beta1.IPAddressPool{
		{ObjectMeta: metav1.ObjectMeta{Name: "v4"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/24"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "v6"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"2001:db8:200::/64"}}},
	}
	for _, tc := range []struct {
		name string
		snap Snapshot
	}{
		{name: "empty"},
		{
			name: "dual-stack-two-peers-and-L2",
			snap: Snapshot{
				Services: []corev1.Service{
					dual,
					svc("shop", "internal", corev1.ServiceTypeClusterIP), // not listed
					svc("shop", "orphan", corev1.ServiceTypeLoadBalancer, "198.51.100.200"),
					func() corev1.Service {
						s := svc("shop", "cloud", corev1.ServiceTypeLoadBalancer)
						class := "example.com/cloud"
						s.Spec.LoadBalancerClass = &class
						return s
					}(),
				},
				Pools: pools,
				Nodes: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}},
				NodeStates: []v1beta1.NodeState{
					{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: v1beta1.NodeStateStatus{
						FRR: &v1beta1.FRRConfigStatus{Generation: 2, Result: v1beta1.FRRApplied, Method: v1beta1.FRRReload},
						BGPSessions: []v1beta1.BGPSessionStatus{
							{Peer: "198.51.100.1", State: "Established"}, {Peer: "2001:db8:100::1", State: "Established"}},
						BGPAnnouncements: []v1beta1.BGPAnnouncement{
							{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.0/24"}},
							{Peer: "2001:db8:100::1", Prefixes: []string{"2001:db8:200::10/128"}}},
					}},
					{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Status: v1beta1.NodeStateStatus{
						L2Announcements: []v1beta1.L2Announcement{{IP: "192.0.2.10", Interface: "eth1"}},
					}},
					// A NodeState of a node that is gone is still shown.
					{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Status: v1beta1.NodeStateStatus{
						FRR: &v1beta1.FRRConfigStatus{Generation: 1, Result: v1beta1.FRRFailed}}},
				},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := FormatStatus(&b, &tc.snap); err != nil {
				t.Fatal(err)
			}
			golden(t, "TestFormatStatus_"+tc.name, b.Bytes())
		})
	}
}
