package speaker

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/internal/plannerinput"
	"github.com/heraldlb/herald/speaker/planner"
)

// LoadSnapshot lists what the planner reads from r (the manager's cache):
// Services, EndpointSlices and Nodes of the whole cluster, herald's objects
// and Secrets of namespace. The objects are the cache's own: the caller
// must not modify them.
func LoadSnapshot(ctx context.Context, r client.Reader, namespace, lbClass string) (planner.Snapshot, error) {
	s := planner.Snapshot{Namespace: namespace, LBClass: lbClass}
	var (
		svcs  corev1.ServiceList
		eps   discoveryv1.EndpointSliceList
		nodes corev1.NodeList
		secs  corev1.SecretList
	)
	lists := []struct {
		what string
		list client.ObjectList
		opts []client.ListOption
	}{
		{"services", &svcs, nil},
		{"endpointslices", &eps, nil},
		{"nodes", &nodes, nil},
		{"secrets", &secs, []client.ListOption{client.InNamespace(namespace)}},
	}
	for _, l := range lists {
		// The planner only reads: no copy of every cached object.
		if err := r.List(ctx, l.list, append(l.opts, client.UnsafeDisableDeepCopy)...); err != nil {
			return s, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	s.Services, s.EndpointSlices, s.Nodes, s.Secrets = svcs.Items, eps.Items, nodes.Items, secs.Items
	if err := plannerinput.ListHeraldObjects(ctx, r, namespace, &s, client.UnsafeDisableDeepCopy); err != nil {
		return s, err
	}
	return s, nil
}
