package health

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTargets(t *testing.T) {
	svc := func(name string, ann map[string]string) corev1.Service {
		return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Annotations: ann}}
	}
	yes, no := true, false
	ep := func(node string, ready *bool, addrs ...string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: addrs, NodeName: &node, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	}
	slice := func(svc string, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
		return discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: svc + "-x",
			Labels: map[string]string{discoveryv1.LabelServiceName: svc}}, Endpoints: eps}
	}
	services := []corev1.Service{
		svc("web", map[string]string{AnnotationCheck: "http:8080/healthz"}),
		svc("plain", nil),
		svc("typo", map[string]string{AnnotationCheck: "tcp 8080"}),
		svc("elsewhere", map[string]string{AnnotationCheck: "tcp:80"}),
		svc("unserved", map[string]string{AnnotationCheck: "tcp:80"}),
	}
	slices := []discoveryv1.EndpointSlice{
		slice("web", ep("node1", &yes, "198.51.100.11"), ep("node2", nil, "198.51.100.12"), ep("node1", &no, "10.0.0.9")),
		slice("web", ep("node1", nil, "2001:db8:100::11", "198.51.100.11")),
		slice("plain", ep("node1", &yes, "198.51.100.11")),
		slice("elsewhere", ep("node2", &yes, "198.51.100.12")),
		slice("unserved", ep("node1", &yes, "198.51.100.11")),
	}
	serve := func(s *corev1.Service) bool { return s.Name != "unserved" }
	got, invalid := Targets(services, slices, "node1", serve)
	want := []Target{{Service: "ns/web", Check: Check{Protocol: HTTP, Port: 8080, Path: "/healthz", Interval: DefaultInterval, Rise: DefaultRise, Fall: DefaultFall},
		Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.11"), netip.MustParseAddr("2001:db8:100::11")}}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Targets (-want +got):\n%s", diff)
	}
	if len(invalid) != 1 || invalid[0].Service != "ns/typo" {
		t.Errorf("invalid = %v, want ns/typo only", invalid)
	}
}
