package impact

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/speaker/planner"
)

// With returns a copy of s (its lists copied, not the objects) with obj in
// place of the object of the same kind, namespace and name, or added.
// obj is a *corev1.Service or one of herald's six kinds. The live object's
// creation time and UID are kept (the oldest-wins rules read them); a
// Service keeps its live status (its IPs) and a new one starts with none.
// added says whether no such object existed.
func With(s *planner.Snapshot, obj metav1.Object) (out planner.Snapshot, added bool, err error) {
	out = clone(s)
	switch o := obj.(type) {
	case *corev1.Service:
		svc := *o.DeepCopy()
		svc.Status = corev1.ServiceStatus{}
		i := slices.IndexFunc(out.Services, func(x corev1.Service) bool { return x.Namespace == o.Namespace && x.Name == o.Name })
		if i < 0 {
			svc.CreationTimestamp = metav1.Time{}
			out.Services = append(out.Services, svc)
			return out, true, nil
		}
		svc.Status = *out.Services[i].Status.DeepCopy()
		svc.CreationTimestamp = out.Services[i].CreationTimestamp
		out.Services[i] = svc
	case *v1beta1.IPAddressPool:
		out.Pools, added = replace(out.Pools, *o)
	case *v1beta1.BGPPeer:
		out.Peers, added = replace(out.Peers, *o)
	case *v1beta1.BFDProfile:
		out.BFDProfiles, added = replace(out.BFDProfiles, *o)
	case *v1beta1.BGPAdvertisement:
		out.BGPAdvertisements, added = replace(out.BGPAdvertisements, *o)
	case *v1beta1.L2Advertisement:
		out.L2Advertisements, added = replace(out.L2Advertisements, *o)
	case *v1beta1.Community:
		out.Communities, added = replace(out.Communities, *o)
	default:
		return out, false, fmt.Errorf("%T %s: not a Service nor one of herald's kinds", obj, obj.GetName())
	}
	return out, added, nil
}

// Without returns a copy of s without the object of kind ("Service",
// "IPAddressPool", ...), namespace (Services only) and name; found says
// whether there was one.
func Without(s *planner.Snapshot, kind, namespace, name string) (out planner.Snapshot, found bool) {
	out = clone(s)
	switch kind {
	case "Service":
		out.Services, found = drop(out.Services, func(x *corev1.Service) bool { return x.Namespace == namespace && x.Name == name })
	case "IPAddressPool":
		out.Pools, found = drop(out.Pools, func(x *v1beta1.IPAddressPool) bool { return x.Name == name })
	case "BGPPeer":
		out.Peers, found = drop(out.Peers, func(x *v1beta1.BGPPeer) bool { return x.Name == name })
	case "BFDProfile":
		out.BFDProfiles, found = drop(out.BFDProfiles, func(x *v1beta1.BFDProfile) bool { return x.Name == name })
	case "BGPAdvertisement":
		out.BGPAdvertisements, found = drop(out.BGPAdvertisements, func(x *v1beta1.BGPAdvertisement) bool { return x.Name == name })
	case "L2Advertisement":
		out.L2Advertisements, found = drop(out.L2Advertisements, func(x *v1beta1.L2Advertisement) bool { return x.Name == name })
	case "Community":
		out.Communities, found = drop(out.Communities, func(x *v1beta1.Community) bool { return x.Name == name })
	}
	return out, found
}

func clone(s *planner.Snapshot) planner.Snapshot {
	o := *s
	o.Services = slices.Clone(s.Services)
	o.Pools = slices.Clone(s.Pools)
	o.Peers = slices.Clone(s.Peers)
	o.BFDProfiles = slices.Clone(s.BFDProfiles)
	o.BGPAdvertisements = slices.Clone(s.BGPAdvertisements)
	o.L2Advertisements = slices.Clone(s.L2Advertisements)
	o.Communities = slices.Clone(s.Communities)
	return o
}

func drop[T any](list []T, match func(*T) bool) ([]T, bool) {
	for i := range list {
		if match(&list[i]) {
			return slices.Delete(list, i, i+1), true
		}
	}
	return list, false
}

// replace puts obj in place of the item of the same name, or appends it
// and reports it added, keeping the live creation time and UID.
func replace[T any, P interface {
	*T
	metav1.Object
}](list []T, obj T) ([]T, bool) {
	name := P(&obj).GetName()
	for i := range list {
		if P(&list[i]).GetName() == name {
			P(&obj).SetCreationTimestamp(P(&list[i]).GetCreationTimestamp())
			P(&obj).SetUID(P(&list[i]).GetUID())
			list[i] = obj
			return list, false
		}
	}
	return append(list, obj), true
}
