package planner

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkPlan plans one node of a cluster with n Services (one IPv4 and
// one IPv6 address each) and two peers: the work the speaker does for each
// batch of changes.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		s := base()
		s.Pools = append(s.Pools, poolObj("big", "198.51.100.0/24", "203.0.113.0/24", "192.0.2.128/25"))
		s.Peers = append(s.Peers, peer("router6", "2001:db8:100::1", 64512, 64500))
		s.Services = nil
		for i := 0; i < n; i++ {
			s.Services = append(s.Services, svc(fmt.Sprintf("s%d", i), corev1.ServiceExternalTrafficPolicyCluster,
				fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), fmt.Sprintf("2001:db8:200::%x", i+1)))
			s.Services[i].Status.LoadBalancer.Ingress[0].IP = fmt.Sprintf("192.0.2.%d", i%64)
		}
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Plan(&s, "node1")
			}
		})
	}
}
