// Package plannerinput lists, from a cache or the API server, the objects
// of herald's own API that the planner reads. The controller and the
// speaker both build their planner.Snapshot with it.
package plannerinput

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/speaker/planner"
)

// ListHeraldObjects lists herald's pools, peers, BFD profiles,
// advertisements and Communities in namespace into s. opts are added to
// every list (client.UnsafeDisableDeepCopy for callers that only read).
func ListHeraldObjects(ctx context.Context, r client.Reader, namespace string, s *planner.Snapshot, opts ...client.ListOption) error {
	var (
		pools v1beta1.IPAddressPoolList
		peers v1beta1.BGPPeerList
		bfds  v1beta1.BFDProfileList
		advs  v1beta1.BGPAdvertisementList
		l2s   v1beta1.L2AdvertisementList
		comms v1beta1.CommunityList
	)
	in := append([]client.ListOption{client.InNamespace(namespace)}, opts...)
	for _, l := range []struct {
		what string
		list client.ObjectList
	}{
		{"ipaddresspools", &pools}, {"bgppeers", &peers}, {"bfdprofiles", &bfds},
		{"bgpadvertisements", &advs}, {"l2advertisements", &l2s}, {"communities", &comms},
	} {
		if err := r.List(ctx, l.list, in...); err != nil {
			return fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	s.Pools, s.Peers, s.BFDProfiles = pools.Items, peers.Items, bfds.Items
	s.BGPAdvertisements, s.L2Advertisements, s.Communities = advs.Items, l2s.Items, comms.Items
	return nil
}
