package impact

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/speaker/planner"
)

func pool(name string, addrs ...string) v1beta1.IPAddressPool {
	p := v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "herald-system"}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	return p
}

func lb(name string, age int, ann map[string]string, ips ...string) corev1.Service {
	s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: name, Annotations: ann},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}
	if age > 0 {
		s.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(age) * time.Hour))
	}
	for _, ip := range ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	return s
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// TestPredict checks the allocations the controller would make, as its
// Service reconciler does: valid IPs kept, IPs that left every pool
// replaced, new Services allocated after the old ones, an unreadable
// request keeping its IPs, a Service with nowhere to go losing them.
func TestPredict(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pools    []v1beta1.IPAddressPool
		services []corev1.Service
		want     []Allocation
	}{
		{name: "settled: nothing", pools: []v1beta1.IPAddressPool{pool("a", "192.0.2.0/30")},
			services: []corev1.Service{lb("one", 2, nil, "192.0.2.1")}},
		{name: "an IP that left the pool moves", pools: []v1beta1.IPAddressPool{pool("a", "192.0.2.8/30")},
			services: []corev1.Service{lb("one", 2, nil, "192.0.2.1")},
			want:     []Allocation{{Service: "web/one", Before: addrs("192.0.2.1"), After: addrs("192.0.2.8"), Reason: "192.0.2.1 left every pool"}}},
		{name: "new Services come after the old ones", pools: []v1beta1.IPAddressPool{pool("a", "192.0.2.0/31")},
			services: []corev1.Service{lb("new", 0, nil), lb("old", 3, nil, "192.0.2.1"), lb("newer", 1, nil)},
			want: []Allocation{
				{Service: "web/new", After: nil, Reason: "PoolExhausted: every usable IPv4 address of pool(s) a is assigned: add addresses to a pool, or delete Services that no longer need one"},
				{Service: "web/newer", After: addrs("192.0.2.0"), Reason: "allocated from pool [a]"},
			}},
		{name: "an unreadable request keeps its IP", pools: []v1beta1.IPAddressPool{pool("a", "192.0.2.0/30")},
			services: []corev1.Service{lb("one", 2, map[string]string{"heraldlb.io/loadBalancerIPs": "nope"}, "192.0.2.1")}},
		{name: "the pool gone: the IP is released", pools: nil,
			services: []corev1.Service{lb("one", 2, nil, "192.0.2.1")},
			want: []Allocation{{Service: "web/one", Before: addrs("192.0.2.1"),
				Reason: `NoMatchingPool: no IPAddressPool with autoAssign admits this Service (namespace "web"): create one, widen a pool's serviceAllocation, or name a pool with the address-pool annotation (192.0.2.1 left every pool and is released)`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := planner.Snapshot{Pools: tc.pools, Services: tc.services}
			got := Predict(&snap, nil)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("Predict (-want +got):\n%s", diff)
			}
			if &snap.Services[0] == &tc.services[0] {
				t.Errorf("Predict wrote the caller's Services")
			}
		})
	}
}

func TestRedact(t *testing.T) {
	in := "router bgp 64512\n neighbor 198.51.100.1 password s3cr3t\n neighbor 198.51.100.1 timers 30 90\n"
	want := "router bgp 64512\n neighbor 198.51.100.1 password <redacted>\n neighbor 198.51.100.1 timers 30 90\n"
	if got := Redact(in); got != want {
		t.Errorf("Redact:\n%s\nwant:\n%s", got, want)
	}
	if got := Redact("router bgp 64512\n"); got != "router bgp 64512\n" {
		t.Errorf("Redact of a config with no password changed it: %q", got)
	}
}
