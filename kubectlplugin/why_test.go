package kubectlplugin

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
)

// TestPoolMismatch covers each reason why names for a pool that cannot
// serve a Service.
func TestPoolMismatch(t *testing.T) {
	no := false
	pool := func(mod func(*v1beta1.IPAddressPool)) *v1beta1.IPAddressPool {
		p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1beta1.IPAddressPoolSpec{
			Addresses: []v1beta1.AddressRange{"192.0.2.0/28"}}}
		if mod != nil {
			mod(p)
		}
		return p
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart", Labels: map[string]string{"app": "cart"}}}
	snap := &Snapshot{Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"env": "prod"}}}}}
	for _, tc := range []struct {
		name string
		req  controllers.Request
		pool *v1beta1.IPAddressPool
		want string // substring; "" means the pool could serve it
	}{
		{name: "plain pool serves", pool: pool(nil)},
		{name: "requested IP inside", req: controllers.Request{IPs: []netip.Addr{netip.MustParseAddr("192.0.2.3")}}, pool: pool(nil)},
		{name: "requested IP outside", req: controllers.Request{IPs: []netip.Addr{netip.MustParseAddr("198.51.100.3")}}, pool: pool(nil),
			want: "the requested IPs are not in it"},
		{name: "another pool named", req: controllers.Request{Pool: "q"}, pool: pool(nil), want: `asks for pool "q"`},
		{name: "named even without autoAssign", req: controllers.Request{Pool: "p"}, pool: pool(func(p *v1beta1.IPAddressPool) { p.Spec.AutoAssign = &no })},
		{name: "autoAssign off", pool: pool(func(p *v1beta1.IPAddressPool) { p.Spec.AutoAssign = &no }), want: "autoAssign is false"},
		{name: "namespace not listed", pool: pool(func(p *v1beta1.IPAddressPool) {
			p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{Namespaces: []string{"web", "api"}}
		}), want: `namespace "shop" is not in serviceAllocation.namespaces [web,api]`},
		{name: "namespace listed", pool: pool(func(p *v1beta1.IPAddressPool) {
			p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{Namespaces: []string{"shop"}}
		})},
		{name: "namespace selector matches", pool: pool(func(p *v1beta1.IPAddressPool) {
			p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"env": "prod"}}}}
		})},
		{name: "service selector misses", pool: pool(func(p *v1beta1.IPAddressPool) {
			p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{ServiceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"app": "web"}}}}
		}), want: "match none of serviceAllocation.serviceSelectors {app=web}"},
		{name: "exhausted", pool: pool(func(p *v1beta1.IPAddressPool) { p.Status.AvailableIPv4 = "0" }), want: "exhausted"},
		{name: "one family left", pool: pool(func(p *v1beta1.IPAddressPool) { p.Status.AvailableIPv4, p.Status.AvailableIPv6 = "0", "12" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := poolMismatch(snap, svc, tc.req, tc.pool)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("poolMismatch = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFormatWhyNotServed: a Service herald does not serve says so, and a
// missing one is an error naming it.
func TestFormatWhyNotServed(t *testing.T) {
	class := "example.com/cloud"
	snap := &Snapshot{Services: []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cloud"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &class}}}}
	var b strings.Builder
	if err := FormatWhy(&b, snap, "shop/cloud"); err != nil {
		t.Fatal(err)
	}
	want := `herald does not serve it: its spec.loadBalancerClass is "example.com/cloud" and herald serves Services with none`
	if !strings.Contains(b.String(), want) {
		t.Errorf("FormatWhy:\n%s\nwant it to contain %q", b.String(), want)
	}
	if err := FormatWhy(&b, snap, "shop/gone"); err == nil || !strings.Contains(err.Error(), "shop/gone") {
		t.Errorf("FormatWhy of a missing Service: error %v, want one naming shop/gone", err)
	}
}
