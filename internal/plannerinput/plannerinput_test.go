package plannerinput

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/speaker/planner"
)

// TestListHeraldObjects: herald's objects of one namespace fill the
// snapshot; another namespace's are left out.
func TestListHeraldObjects(t *testing.T) {
	_, c := apitest.Start(t)
	ctx := context.Background()
	for _, ns := range []string{"herald-system", "other"} {
		apitest.Namespace(t, c, ns)
		objs := []client.Object{
			&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pool"},
				Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/28"}}},
			&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "adv"}},
			&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "l2"}},
		}
		for _, o := range objs {
			if err := c.Create(ctx, o); err != nil {
				t.Fatalf("creating %T in %s: %v", o, ns, err)
			}
		}
	}
	var s planner.Snapshot
	if err := ListHeraldObjects(ctx, c, "herald-system", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Pools) != 1 || len(s.BGPAdvertisements) != 1 || len(s.L2Advertisements) != 1 {
		t.Fatalf("pools %d, BGP advertisements %d, L2 advertisements %d: want 1 each", len(s.Pools), len(s.BGPAdvertisements), len(s.L2Advertisements))
	}
	for _, o := range []metav1.Object{&s.Pools[0], &s.BGPAdvertisements[0], &s.L2Advertisements[0]} {
		if o.GetNamespace() != "herald-system" {
			t.Errorf("%s listed from namespace %s", o.GetName(), o.GetNamespace())
		}
	}
	if len(s.Peers)+len(s.BFDProfiles)+len(s.Communities) != 0 {
		t.Errorf("peers, BFD profiles, communities: %d, %d, %d, want none", len(s.Peers), len(s.BFDProfiles), len(s.Communities))
	}
}
