package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/verdict"
	"github.com/heraldlb/herald/speaker/planner"
)

// v4 and v6 give each scenario its own documentation addresses.
func v4(i int) string { return fmt.Sprintf("192.0.2.%d/28", 16*i) }
func v4half(i, h int) string {
	return fmt.Sprintf("192.0.2.%d/29", 16*i+8*h)
}
func v6(i int) string { return fmt.Sprintf("2001:db8:200:%x::/120", i) }

// TestServices runs the controller against a real API server and walks
// Services through their lives. Each scenario has its own namespace and
// pools restricted to it, so they run side by side.
func TestServices(t *testing.T) {
	cfg, c := startDualStackAPIServer(t)
	h := startController(t, cfg, Options{})
	ctx := context.Background()

	scenario := func(i int, name string, f func(t *testing.T, ns string)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ns := fmt.Sprintf("s%d", i)
			namespace(t, c, ns, map[string]string{"scenario": ns})
			f(t, ns)
		})
	}

	scenario(0, "allocate and keep across edits", func(t *testing.T, ns string) {
		createPool(t, c, pool("p0", []string{v4(0)}, onlyNamespace(ns)))
		mustCreate(t, c, lbService(ns, "web", 80))
		svc := waitService(t, c, ns, "web", "an IP", hasIPs(1))
		ip := svc.Status.LoadBalancer.Ingress[0]
		if !inPrefix(t, ip.IP, v4(0)) {
			t.Errorf("ip %s not in pool p0 (%s)", ip.IP, v4(0))
		}
		if ip.IPMode == nil || *ip.IPMode != corev1.LoadBalancerIPModeVIP {
			t.Errorf("ipMode = %v, want VIP", ip.IPMode)
		}
		cond := meta.FindStatusCondition(svc.Status.Conditions, ConditionIPAllocated)
		if cond.Reason != ReasonAllocated || !strings.Contains(cond.Message, ip.IP) || !strings.Contains(cond.Message, "p0") {
			t.Errorf("condition = %+v, want reason Allocated naming %s and pool p0", cond, ip.IP)
		}
		waitEvent(t, c, ns, "web", ReasonAllocated)
		// Edits that do not touch the request keep the IP.
		update(t, c, svc, func(s *corev1.Service) {
			s.Labels = map[string]string{"tier": "front"}
			s.Annotations = map[string]string{"example.com/owner": "team-a"}
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "q", Port: 443, Protocol: corev1.ProtocolTCP})
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		})
		after := waitService(t, c, ns, "web", "the edit observed", hasIPs(1))
		if diff := cmp.Diff([]string{ip.IP}, ingressIPs(after)); diff != "" {
			t.Errorf("IP changed across unrelated edits (-before +after):\n%s", diff)
		}
	})

	scenario(1, "requested IPs in every spelling", func(t *testing.T, ns string) {
		createPool(t, c, pool("p1", []string{v4(1), v6(1)}, onlyNamespace(ns)))
		tests := []struct {
			name string
			set  func(*corev1.Service)
			want []string
		}{
			{"spec", func(s *corev1.Service) { s.Spec.LoadBalancerIP = "192.0.2.21" }, []string{"192.0.2.21"}},
			{"heraldlb", func(s *corev1.Service) {
				s.Annotations = map[string]string{"heraldlb.io/loadBalancerIPs": "192.0.2.22"}
			}, []string{"192.0.2.22"}},
			{"metallb-io", func(s *corev1.Service) {
				s.Annotations = map[string]string{"metallb.io/loadBalancerIPs": "192.0.2.23"}
			}, []string{"192.0.2.23"}},
			{"metallb-tf", func(s *corev1.Service) {
				s.Annotations = map[string]string{"metallb.universe.tf/loadBalancerIPs": "192.0.2.24"}
			}, []string{"192.0.2.24"}},
			{"v6", func(s *corev1.Service) {
				s.Annotations = map[string]string{"heraldlb.io/loadBalancerIPs": "2001:db8:200:1::25"}
				s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
			}, []string{"2001:db8:200:1::25"}},
		}
		for _, tc := range tests {
			mustCreate(t, c, lbService(ns, tc.name, 80, tc.set))
		}
		for _, tc := range tests {
			got := waitService(t, c, ns, tc.name, "its requested IP", hasIPs(len(tc.want)))
			if diff := cmp.Diff(tc.want, ingressIPs(got)); diff != "" {
				t.Errorf("%s: IPs mismatch (-want +got):\n%s", tc.name, diff)
			}
		}
	})

	scenario(2, "requested IP change and pool annotation change move the IP", func(t *testing.T, ns string) {
		createPool(t, c, pool("p2a", []string{v4half(2, 0)}, onlyNamespace(ns)))
		createPool(t, c, pool("p2b", []string{v4half(2, 1)}, onlyNamespace(ns), func(p *v1beta1.IPAddressPool) {
			f := false
			p.Spec.AutoAssign = &f
		}))
		mustCreate(t, c, lbService(ns, "mover", 80, func(s *corev1.Service) {
			s.Annotations = map[string]string{"heraldlb.io/loadBalancerIPs": "192.0.2.35"}
		}))
		svc := waitService(t, c, ns, "mover", "192.0.2.35", hasIPs(1))
		update(t, c, svc, func(s *corev1.Service) { s.Annotations["heraldlb.io/loadBalancerIPs"] = "192.0.2.36" })
		svc = waitService(t, c, ns, "mover", "192.0.2.36", func(s *corev1.Service) bool { return fmtIPs(ingressIPs(s)) == "[192.0.2.36]" })
		update(t, c, svc, func(s *corev1.Service) {
			s.Annotations = map[string]string{"metallb.io/address-pool": "p2b"}
		})
		svc = waitService(t, c, ns, "mover", "an IP of p2b", func(s *corev1.Service) bool {
			ips := ingressIPs(s)
			return len(ips) == 1 && inPrefix(t, ips[0], v4half(2, 1)) && hasIPs(1)(s)
		})
	})

	scenario(3, "pool by annotation; a missing pool is an invalid request", func(t *testing.T, ns string) {
		createPool(t, c, pool("p3a", []string{v4half(3, 0)}, onlyNamespace(ns)))
		createPool(t, c, pool("p3b", []string{v4half(3, 1)}, func(p *v1beta1.IPAddressPool) {
			f := false
			p.Spec.AutoAssign = &f
		}))
		mustCreate(t, c, lbService(ns, "named", 80, func(s *corev1.Service) {
			s.Annotations = map[string]string{"metallb.universe.tf/address-pool": "p3b"}
		}))
		got := waitService(t, c, ns, "named", "an IP", hasIPs(1))
		if ip := ingressIPs(got)[0]; !inPrefix(t, ip, v4half(3, 1)) {
			t.Errorf("ip %s not from the annotated pool p3b (%s)", ip, v4half(3, 1))
		}
		mustCreate(t, c, lbService(ns, "missing", 80, func(s *corev1.Service) {
			s.Annotations = map[string]string{"heraldlb.io/address-pool": "no-such-pool"}
		}))
		bad := waitService(t, c, ns, "missing", "InvalidRequest", failedWith("InvalidRequest"))
		if cond := meta.FindStatusCondition(bad.Status.Conditions, ConditionIPAllocated); !strings.Contains(cond.Message, "no-such-pool") {
			t.Errorf("message %q does not name the missing pool", cond.Message)
		}
		waitEvent(t, c, ns, "missing", "InvalidRequest")
	})

	scenario(4, "serviceAllocation: priority, namespace and service selectors", func(t *testing.T, ns string) {
		createPool(t, c, pool("p4-low", []string{fmt.Sprintf("192.0.2.%d/30", 64)}, func(p *v1beta1.IPAddressPool) {
			p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{Priority: 20, NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"scenario": ns}}}}
		}))
		createPool(t, c, pool("p4-high", []string{fmt.Sprintf("192.0.2.%d/30", 68)}, func(p *v1beta1.IPAddressPool) {
			p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{Priority: 10, NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"scenario": ns}}}}
		}))
		createPool(t, c, pool("p4-gold", []string{fmt.Sprintf("192.0.2.%d/29", 72)}, func(p *v1beta1.IPAddressPool) {
			p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{Priority: 5, Namespaces: []string{ns},
				ServiceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "gold"}}}}
		}))
		mustCreate(t, c, lbService(ns, "plain", 80))
		mustCreate(t, c, lbService(ns, "gold", 80, func(s *corev1.Service) { s.Labels = map[string]string{"tier": "gold"} }))
		if ip := ingressIPs(waitService(t, c, ns, "plain", "an IP", hasIPs(1)))[0]; !inPrefix(t, ip, "192.0.2.68/30") {
			t.Errorf("plain got %s, want the priority-10 pool p4-high (192.0.2.68/30)", ip)
		}
		if ip := ingressIPs(waitService(t, c, ns, "gold", "an IP", hasIPs(1)))[0]; !inPrefix(t, ip, "192.0.2.72/29") {
			t.Errorf("gold got %s, want the service-selected pool p4-gold (192.0.2.72/29)", ip)
		}
	})

	scenario(5, "sharing: compatible ports share, a port clash is a SharingConflict", func(t *testing.T, ns string) {
		createPool(t, c, pool("p5", []string{v4(5)}, onlyNamespace(ns)))
		share := func(s *corev1.Service) {
			s.Annotations = map[string]string{"heraldlb.io/allow-shared-ip": "k"}
			s.Spec.Selector = map[string]string{"app": "shared"}
		}
		mustCreate(t, c, lbService(ns, "a", 80, share))
		a := waitService(t, c, ns, "a", "an IP", hasIPs(1))
		ip := ingressIPs(a)[0]
		mustCreate(t, c, lbService(ns, "b", 443, share, func(s *corev1.Service) {
			s.Annotations["metallb.universe.tf/loadBalancerIPs"] = ip
			s.Annotations["metallb.universe.tf/allow-shared-ip"] = "k"
		}))
		if got := ingressIPs(waitService(t, c, ns, "b", "an IP", hasIPs(1))); fmtIPs(got) != fmtIPs([]string{ip}) {
			t.Errorf("b got %v, want the shared %s", got, ip)
		}
		mustCreate(t, c, lbService(ns, "clash", 80, share, func(s *corev1.Service) {
			s.Annotations["heraldlb.io/loadBalancerIPs"] = ip
		}))
		waitService(t, c, ns, "clash", "SharingConflict", failedWith("SharingConflict"))
		waitEvent(t, c, ns, "clash", "SharingConflict")
	})

	scenario(6, "dual-stack", func(t *testing.T, ns string) {
		createPool(t, c, pool("p6", []string{v4half(6, 0), v6(6)}, onlyNamespace(ns)))
		require := corev1.IPFamilyPolicyRequireDualStack
		prefer := corev1.IPFamilyPolicyPreferDualStack
		mustCreate(t, c, lbService(ns, "dual", 80, func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = &require
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
		}))
		got := ingressIPs(waitService(t, c, ns, "dual", "two IPs", hasIPs(2)))
		if !inPrefix(t, got[0], v6(6)) || !inPrefix(t, got[1], v4half(6, 0)) {
			t.Errorf("dual got %v, want an IPv6 then an IPv4 of p6", got)
		}
		mustCreate(t, c, lbService(ns, "prefer", 80, func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &prefer }))
		waitService(t, c, ns, "prefer", "two IPs", hasIPs(2))
		// A namespace served by an IPv4-only pool cannot be dual-stack.
		ns2 := ns + "-v4only"
		namespace(t, c, ns2, nil)
		createPool(t, c, pool("p6-v4only", []string{v4half(6, 1)}, onlyNamespace(ns2)))
		mustCreate(t, c, lbService(ns2, "dual", 80, func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &require }))
		waitService(t, c, ns2, "dual", "NoMatchingPool", failedWith("NoMatchingPool"))
	})

	scenario(7, "exhaustion, release on delete, reuse, pool status", func(t *testing.T, ns string) {
		createPool(t, c, pool("p7", []string{fmt.Sprintf("192.0.2.%d/30", 112)}, onlyNamespace(ns)))
		for i := 0; i < 4; i++ {
			mustCreate(t, c, lbService(ns, fmt.Sprintf("s%d", i), 80))
		}
		for i := 0; i < 4; i++ {
			waitService(t, c, ns, fmt.Sprintf("s%d", i), "an IP", hasIPs(1))
		}
		mustCreate(t, c, lbService(ns, "late", 80))
		late := waitService(t, c, ns, "late", "PoolExhausted", failedWith("PoolExhausted"))
		if len(late.Status.LoadBalancer.Ingress) != 0 {
			t.Errorf("exhausted service has ingress %v", ingressIPs(late))
		}
		eventually(t, "pool status shows 4 assigned, 0 available", func() error {
			var p v1beta1.IPAddressPool
			if err := c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "p7"}, &p); err != nil {
				return err
			}
			if p.Status.AssignedIPv4 != "4" || p.Status.AvailableIPv4 != "0" || p.Status.Assigned != "4 v4" {
				return fmt.Errorf("status = %+v", p.Status)
			}
			return nil
		})
		eventually(t, "metrics show the pool full and the failure", func() error {
			inUse := gauge(t, h.reg, "herald_pool_addresses_in_use", map[string]string{"pool": "p7", "family": "IPv4"})
			total := gauge(t, h.reg, "herald_pool_addresses", map[string]string{"pool": "p7", "family": "IPv4"})
			failures := gauge(t, h.reg, "herald_allocator_allocation_failures_total", map[string]string{"reason": "PoolExhausted"})
			if inUse != 4 || total != 4 || failures < 1 {
				return fmt.Errorf("in use %v, total %v, PoolExhausted failures %v; want 4, 4, >=1", inUse, total, failures)
			}
			return nil
		})
		s0 := waitService(t, c, ns, "s0", "an IP", hasIPs(1))
		freed := ingressIPs(s0)[0]
		if err := c.Delete(ctx, s0); err != nil {
			t.Fatal(err)
		}
		got := waitService(t, c, ns, "late", "the freed IP", hasIPs(1))
		if fmtIPs(ingressIPs(got)) != fmtIPs([]string{freed}) {
			t.Errorf("late got %v, want the freed %s", ingressIPs(got), freed)
		}
	})

	scenario(8, "type change away from LoadBalancer releases", func(t *testing.T, ns string) {
		createPool(t, c, pool("p8", []string{fmt.Sprintf("192.0.2.%d/32", 128)}, onlyNamespace(ns)))
		mustCreate(t, c, lbService(ns, "first", 80))
		first := waitService(t, c, ns, "first", "an IP", hasIPs(1))
		mustCreate(t, c, lbService(ns, "second", 80))
		waitService(t, c, ns, "second", "PoolExhausted", failedWith("PoolExhausted"))
		update(t, c, first, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeClusterIP
			s.Spec.AllocateLoadBalancerNodePorts = nil
		})
		waitService(t, c, ns, "first", "no IP and no condition", func(s *corev1.Service) bool {
			return len(s.Status.LoadBalancer.Ingress) == 0 && meta.FindStatusCondition(s.Status.Conditions, ConditionIPAllocated) == nil
		})
		if got := ingressIPs(waitService(t, c, ns, "second", "the released IP", hasIPs(1))); got[0] != "192.0.2.128" {
			t.Errorf("second got %v, want 192.0.2.128", got)
		}
	})

	scenario(9, "pool shrink re-allocates, pool delete clears", func(t *testing.T, ns string) {
		p := pool("p9", []string{v4half(9, 0), v4half(9, 1)}, onlyNamespace(ns))
		createPool(t, c, p)
		mustCreate(t, c, lbService(ns, "up", 80, func(s *corev1.Service) {
			s.Annotations = map[string]string{"heraldlb.io/address-pool": "p9"}
		}))
		mustCreate(t, c, lbService(ns, "hi", 80, func(s *corev1.Service) { s.Spec.LoadBalancerIP = "192.0.2.157" }))
		waitService(t, c, ns, "hi", "192.0.2.157", hasIPs(1))
		before := ingressIPs(waitService(t, c, ns, "up", "an IP", hasIPs(1)))
		if inPrefix(t, before[0], v4half(9, 0)) {
			// Start "up" in the half that goes away first.
			update(t, c, lbService(ns, "up", 80), func(s *corev1.Service) { s.Annotations["heraldlb.io/loadBalancerIPs"] = "192.0.2.158" })
			waitService(t, c, ns, "up", "192.0.2.158", func(s *corev1.Service) bool { return fmtIPs(ingressIPs(s)) == "[192.0.2.158]" })
			update(t, c, lbService(ns, "up", 80), func(s *corev1.Service) { delete(s.Annotations, "heraldlb.io/loadBalancerIPs") })
		}
		update(t, c, p, func(p *v1beta1.IPAddressPool) {
			p.Spec.Addresses = []v1beta1.AddressRange{v1beta1.AddressRange(v4half(9, 0))}
		})
		// "hi" asked for an address that left the pool: it is cleared and
		// says why; "up" keeps its address in the remaining half.
		waitService(t, c, ns, "hi", "RequestedIPUnavailable", func(s *corev1.Service) bool {
			return failedWith("RequestedIPUnavailable")(s) && len(s.Status.LoadBalancer.Ingress) == 0
		})
		_ = before
		waitService(t, c, ns, "up", "an IP in the remaining half", func(s *corev1.Service) bool {
			ips := ingressIPs(s)
			return hasIPs(1)(s) && inPrefix(t, ips[0], v4half(9, 0))
		})
		// Now shrink "up" out: its IP moves into what is left.
		update(t, c, p, func(p *v1beta1.IPAddressPool) {
			p.Spec.Addresses = []v1beta1.AddressRange{v1beta1.AddressRange(v4half(9, 1))}
		})
		waitService(t, c, ns, "up", "a new IP in the other half", func(s *corev1.Service) bool {
			ips := ingressIPs(s)
			return hasIPs(1)(s) && inPrefix(t, ips[0], v4half(9, 1))
		})
		if err := c.Delete(ctx, p); err != nil {
			t.Fatal(err)
		}
		waitService(t, c, ns, "up", "cleared after the pool is deleted", func(s *corev1.Service) bool {
			return len(s.Status.LoadBalancer.Ingress) == 0 && failedWith("InvalidRequest")(s)
		})
	})

	scenario(10, "bad requests never take away an existing IP", func(t *testing.T, ns string) {
		createPool(t, c, pool("p10", []string{v4(10), v6(10)}, onlyNamespace(ns)))
		mustCreate(t, c, lbService(ns, "holder", 80, func(s *corev1.Service) { s.Spec.LoadBalancerIP = "192.0.2.170" }))
		waitService(t, c, ns, "holder", "an IP", hasIPs(1))
		tests := []struct {
			name   string
			ann    map[string]string
			reason string
			field  string // the message names it
		}{
			{"outside every pool", map[string]string{"heraldlb.io/loadBalancerIPs": "198.51.100.77"}, "RequestedIPUnavailable", "198.51.100.77"},
			{"in use by a non-sharing service", map[string]string{"metallb.io/loadBalancerIPs": "192.0.2.170"}, "RequestedIPUnavailable", "192.0.2.170"},
			{"two IPs of one family", map[string]string{"heraldlb.io/loadBalancerIPs": "192.0.2.171,192.0.2.172"}, "InvalidRequest", "192.0.2.17"},
			{"not an IP", map[string]string{"metallb.universe.tf/loadBalancerIPs": "192.0.2.999"}, "InvalidRequest", "metallb.universe.tf/loadBalancerIPs"},
			{"spellings disagree", map[string]string{"heraldlb.io/address-pool": "p10", "metallb.io/address-pool": "other"}, "InvalidRequest", "address-pool"},
		}
		for i, tc := range tests {
			name := fmt.Sprintf("victim%d", i)
			mustCreate(t, c, lbService(ns, name, 80))
			svc := waitService(t, c, ns, name, "an IP", hasIPs(1))
			had := ingressIPs(svc)
			update(t, c, svc, func(s *corev1.Service) { s.Annotations = tc.ann })
			got := waitService(t, c, ns, name, tc.reason, failedWith(tc.reason))
			cond := meta.FindStatusCondition(got.Status.Conditions, ConditionIPAllocated)
			if !strings.Contains(cond.Message, tc.field) {
				t.Errorf("%s: message %q does not name %q", tc.name, cond.Message, tc.field)
			}
			if diff := cmp.Diff(had, ingressIPs(got)); diff != "" {
				t.Errorf("%s: the existing IP was lost (-had +got):\n%s", tc.name, diff)
			}
			waitEvent(t, c, ns, name, tc.reason)
		}
	})

	scenario(11, "overlapping pools are reported and change nothing", func(t *testing.T, ns string) {
		createPool(t, c, pool("p11", []string{v4(11)}, onlyNamespace(ns)))
		mustCreate(t, c, lbService(ns, "kept", 80))
		had := ingressIPs(waitService(t, c, ns, "kept", "an IP", hasIPs(1)))
		mustCreate(t, c, pool("p11-overlap", []string{had[0] + "/32"}, onlyNamespace(ns)))
		eventually(t, "the overlapping pool is rejected", func() error {
			var p v1beta1.IPAddressPool
			if err := c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "p11-overlap"}, &p); err != nil {
				return err
			}
			cond := meta.FindStatusCondition(p.Status.Conditions, ConditionPoolAccepted)
			if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != verdict.ReasonOverlappingPool {
				return fmt.Errorf("condition %+v", cond)
			}
			if !strings.Contains(cond.Message, `"p11"`) {
				return fmt.Errorf("message %q does not name the other pool", cond.Message)
			}
			return nil
		})
		waitEvent(t, c, testNS, "p11-overlap", verdict.ReasonOverlappingPool)
		// A new Service still gets an IP; the old one keeps its own.
		mustCreate(t, c, lbService(ns, "new", 80))
		waitService(t, c, ns, "new", "an IP", hasIPs(1))
		if got := ingressIPs(waitService(t, c, ns, "kept", "an IP", hasIPs(1))); fmtIPs(got) != fmtIPs(had) {
			t.Errorf("kept changed from %v to %v", had, got)
		}
	})

	scenario(13, "a pool edited into a bad selector keeps its Services' IPs", func(t *testing.T, ns string) {
		createPool(t, c, pool("p13", []string{v4(13)}, onlyNamespace(ns)))
		mustCreate(t, c, lbService(ns, "kept", 80))
		had := ingressIPs(waitService(t, c, ns, "kept", "an IP", hasIPs(1)))
		var p v1beta1.IPAddressPool
		if err := c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "p13"}, &p); err != nil {
			t.Fatal(err)
		}
		// "In" with no values passes admission but is no label selector.
		update(t, c, &p, func(p *v1beta1.IPAddressPool) {
			p.Spec.ServiceAllocation.ServiceSelectors = []metav1.LabelSelector{{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn}},
			}}
		})
		eventually(t, "the pool reports the bad selector", func() error {
			var got v1beta1.IPAddressPool
			if err := c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "p13"}, &got); err != nil {
				return err
			}
			cond := meta.FindStatusCondition(got.Status.Conditions, ConditionPoolAccepted)
			if cond == nil || cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, "serviceSelectors[0]") {
				return fmt.Errorf("condition %+v", cond)
			}
			return nil
		})
		// Nudge the Service so that its reconcile runs against the new pool set.
		svc := waitService(t, c, ns, "kept", "an IP", hasIPs(1))
		update(t, c, svc, func(s *corev1.Service) { s.Labels = map[string]string{"nudge": "1"} })
		time.Sleep(2 * time.Second)
		got := waitService(t, c, ns, "kept", "an IP", hasIPs(1))
		if diff := cmp.Diff(had, ingressIPs(got)); diff != "" {
			t.Errorf("the Service's IP changed after its pool's bad edit (-had +got):\n%s", diff)
		}
		if cond := meta.FindStatusCondition(got.Status.Conditions, ConditionIPAllocated); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("IPAllocated is %+v, want True", cond)
		}
	})

	scenario(14, "IPs and the Announced condition arrive in one write, and leave in one", func(t *testing.T, ns string) {
		createPool(t, c, pool("p14", []string{v4(14)}, onlyNamespace(ns)))
		versions := watchServiceStatus(t, cfg, ns, "one")
		mustCreate(t, c, lbService(ns, "one", 80))
		first := nextStatus(t, versions, "the first status with an IP", func(s *corev1.Service) bool {
			return len(s.Status.LoadBalancer.Ingress) > 0
		})
		// No advertisement selects p14: the condition says so from the start.
		ann := meta.FindStatusCondition(first.Status.Conditions, ConditionAnnounced)
		if ann == nil || ann.Status != metav1.ConditionFalse || ann.Reason != planner.ReasonNoAdvertisement || !strings.Contains(ann.Message, "pool p14") {
			t.Errorf("the first status with IPs %v has Announced %+v, want False %s naming pool p14", ingressIPs(first), ann, planner.ReasonNoAdvertisement)
		}
		if cond := meta.FindStatusCondition(first.Status.Conditions, ConditionIPAllocated); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("the first status with IPs has IPAllocated %+v, want True", cond)
		}
		// One event tells both: the IPs and why they are not announced.
		eventually(t, "the Allocated event says why the IP is not announced", func() error {
			var list corev1.EventList
			if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
				return err
			}
			for _, e := range list.Items {
				if e.InvolvedObject.Name == "one" && e.Reason == ReasonAllocated && strings.Contains(e.Message, "not announced") && strings.Contains(e.Message, "pool p14") {
					return nil
				}
			}
			return fmt.Errorf("no such event among %d in %s", len(list.Items), ns)
		})
		update(t, c, first, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeClusterIP
			s.Spec.AllocateLoadBalancerNodePorts = nil
		})
		gone := nextStatus(t, versions, "the first status without IPAllocated", func(s *corev1.Service) bool {
			return meta.FindStatusCondition(s.Status.Conditions, ConditionIPAllocated) == nil
		})
		if len(gone.Status.LoadBalancer.Ingress) != 0 || len(gone.Status.Conditions) != 0 {
			t.Errorf("the first status without IPAllocated keeps ingress %v and conditions %+v, want none", ingressIPs(gone), gone.Status.Conditions)
		}
	})

	scenario(12, "other classes are not served", func(t *testing.T, ns string) {
		createPool(t, c, pool("p12", []string{v4(12)}, onlyNamespace(ns)))
		class := "example.com/other-lb"
		mustCreate(t, c, lbService(ns, "theirs", 80, func(s *corev1.Service) { s.Spec.LoadBalancerClass = &class }))
		mustCreate(t, c, lbService(ns, "ours", 80))
		waitService(t, c, ns, "ours", "an IP", hasIPs(1))
		time.Sleep(time.Second)
		var s corev1.Service
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "theirs"}, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Status.LoadBalancer.Ingress) != 0 || len(s.Status.Conditions) != 0 {
			t.Errorf("a Service of class %s was touched: %+v", class, s.Status)
		}
	})
}

// TestLBClass runs a controller with --lb-class: it serves only that class.
func TestLBClass(t *testing.T) {
	cfg, c := startDualStackAPIServer(t)
	const class = "heraldlb.io/test"
	startController(t, cfg, Options{LBClass: class})
	namespace(t, c, "apps", nil)
	createPool(t, c, pool("p", []string{"192.0.2.0/28"}))
	cls := class
	mustCreate(t, c, lbService("apps", "classed", 80, func(s *corev1.Service) { s.Spec.LoadBalancerClass = &cls }))
	mustCreate(t, c, lbService("apps", "unclassed", 80))
	waitService(t, c, "apps", "classed", "an IP", hasIPs(1))
	time.Sleep(time.Second)
	var s corev1.Service
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "apps", Name: "unclassed"}, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Status.LoadBalancer.Ingress) != 0 || len(s.Status.Conditions) != 0 {
		t.Errorf("the class controller served a Service with no class: %+v", s.Status)
	}
}

// watchServiceStatus watches one Service from before it exists and sends
// every version of it the API server stores, in order, until the test ends.
func watchServiceStatus(t *testing.T, cfg *rest.Config, ns, name string) <-chan *corev1.Service {
	t.Helper()
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatalf("making a watching client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &corev1.ServiceList{}, client.InNamespace(ns), client.MatchingFields{"metadata.name": name})
	if err != nil {
		cancel()
		t.Fatalf("watching service %s/%s: %v", ns, name, err)
	}
	out := make(chan *corev1.Service, 64)
	go func() {
		defer close(out)
		for ev := range w.ResultChan() {
			if svc, ok := ev.Object.(*corev1.Service); ok {
				select {
				case out <- svc:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		w.Stop()
	})
	return out
}

// nextStatus reads versions until one satisfies ok and returns it.
func nextStatus(t *testing.T, versions <-chan *corev1.Service, what string, ok func(*corev1.Service) bool) *corev1.Service {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case svc, open := <-versions:
			if !open {
				t.Fatalf("%s: the watch ended", what)
			}
			if ok(svc) {
				return svc
			}
		case <-timeout:
			t.Fatalf("%s: not seen within 30s", what)
		}
	}
}
