package apitest

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// TestStart checks that Start serves herald's kinds: a pool can be created
// and read back through the returned client.
func TestStart(t *testing.T) {
	_, c := Start(t)
	ctx := context.Background()
	Namespace(t, c, "herald-system")
	Namespace(t, c, "herald-system") // a second call is a no-op

	pool := &heraldv1beta1.IPAddressPool{}
	pool.Namespace, pool.Name = "herald-system", "start"
	pool.Spec.Addresses = []heraldv1beta1.AddressRange{"192.0.2.0/28"}
	if err := c.Create(ctx, pool); err != nil {
		t.Fatalf("creating a pool: %v", err)
	}
	var got heraldv1beta1.IPAddressPool
	if err := c.Get(ctx, client.ObjectKeyFromObject(pool), &got); err != nil {
		t.Fatalf("reading the pool back: %v", err)
	}
	if got.Spec.AutoAssign == nil || !*got.Spec.AutoAssign {
		t.Errorf("autoAssign = %v, want the default true", got.Spec.AutoAssign)
	}
}
