package v1beta1_test

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
)

// BenchmarkAdmission measures what herald's CEL rules cost an API request:
// a server-side dry-run create of a typical pool (three entries) and of the
// largest pool the schema allows (128 long IPv6 ranges).
func BenchmarkAdmission(b *testing.B) {
	_, c := apitest.Start(b)
	apitest.Namespace(b, c, ns)
	// The first request of a kind pays for the API server setting up its
	// handler; keep that out of the figures.
	warm := &v1beta1.IPAddressPool{Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/26"}}}
	warm.Namespace, warm.Name = ns, "warm-up"
	if err := c.Create(context.Background(), warm, client.DryRunAll); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		addrs []v1beta1.AddressRange
	}{
		{"typical pool", []v1beta1.AddressRange{"192.0.2.0/26", "192.0.2.64-192.0.2.95", "2001:db8:200::/64"}},
		{"largest pool", largestPool()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			pool := &v1beta1.IPAddressPool{Spec: v1beta1.IPAddressPoolSpec{Addresses: bc.addrs}}
			pool.Namespace, pool.Name = ns, "bench"
			for b.Loop() {
				if err := c.Create(ctx, pool.DeepCopy(), client.DryRunAll); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
