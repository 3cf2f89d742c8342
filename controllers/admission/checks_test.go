package admission

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

func testPool(name string, addrs ...string) *v1beta1.IPAddressPool {
	p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	return p
}

func TestOverlappingPools(t *testing.T) {
	others := []v1beta1.IPAddressPool{*testPool("a", "192.0.2.0/28"), *testPool("b", "2001:db8::/64", "198.51.100.10-198.51.100.20"), *testPool("self", "192.0.2.0/24")}
	for _, tc := range []struct {
		name string
		pool *v1beta1.IPAddressPool
		want []string
	}{
		{name: "disjoint", pool: testPool("self", "203.0.113.0/24")},
		{name: "itself is skipped", pool: testPool("self", "192.0.2.128/25")},
		{name: "a CIDR inside another", pool: testPool("self", "192.0.2.8/29"), want: []string{"pool a (192.0.2.8/29 overlaps 192.0.2.0/28)"}},
		{name: "a range across two pools", pool: testPool("self", "192.0.2.15-198.51.100.10", "2001:db8::1/128"), want: []string{
			"pool a (192.0.2.15-198.51.100.10 overlaps 192.0.2.0/28)",
			"pool b (192.0.2.15-198.51.100.10 overlaps 198.51.100.10-198.51.100.20)",
			"pool b (2001:db8::1/128 overlaps 2001:db8::/64)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, OverlappingPools(tc.pool, others)); diff != "" {
				t.Errorf("OverlappingPools (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStrandedIPs(t *testing.T) {
	svc := func(name string, class *string, ips ...string) corev1.Service {
		s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: class}}
		for _, ip := range ips {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
		}
		return s
	}
	other := "other"
	svcs := []corev1.Service{svc("a", nil, "192.0.2.1", "2001:db8::1"), svc("b", nil, "192.0.2.9"), svc("c", &other, "192.0.2.2"), svc("d", nil, "203.0.113.1")}
	old := testPool("p", "192.0.2.0/28", "2001:db8::/64")
	for _, tc := range []struct {
		name string
		new  *v1beta1.IPAddressPool
		want []Stranded
	}{
		{name: "grown: none", new: testPool("p", "192.0.2.0/27", "2001:db8::/64")},
		{name: "shrunk", new: testPool("p", "192.0.2.8/29"), want: []Stranded{
			{Service: "web/a", IPs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}}}},
		{name: "deleted", new: nil, want: []Stranded{
			{Service: "web/a", IPs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}},
			{Service: "web/b", IPs: []netip.Addr{netip.MustParseAddr("192.0.2.9")}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := StrandedIPs(old, tc.new, svcs, "")
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("StrandedIPs (-want +got):\n%s", diff)
			}
		})
	}
}
