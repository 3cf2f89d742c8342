package impact

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/speaker/planner"
)

// BenchmarkCompute measures what one admission review or one diff -f costs
// on a cluster of n Services and 10 nodes announcing over BGP to one peer:
// a pool shrink that moves one Service.
func BenchmarkCompute(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			before := planner.Snapshot{Namespace: "herald-system",
				Pools: []v1beta1.IPAddressPool{pool("a", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/112")},
				Peers: []v1beta1.BGPPeer{{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: "herald-system"},
					Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64500, PeerAddress: "198.51.100.1"}}},
				BGPAdvertisements: []v1beta1.BGPAdvertisement{{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: "herald-system"}}},
			}
			for i := 0; i < 10; i++ {
				before.Nodes = append(before.Nodes, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node%d", i)}})
			}
			ip := netip.MustParseAddr("2001:db8::1")
			for i := 0; i < n; i, ip = i+1, ip.Next() {
				svc := lb(fmt.Sprintf("s%d", i), 2, nil, ip.String())
				svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
				before.Services = append(before.Services, svc)
			}
			after := before
			after.Pools = []v1beta1.IPAddressPool{pool("a", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::2-2001:db8::ffff")}
			b.ResetTimer()
			for b.Loop() {
				r := Compute(&before, &after, nil)
				if len(r.Allocations) != 1 {
					b.Fatalf("allocations %+v, want one Service moved", r.Allocations)
				}
			}
		})
	}
}
