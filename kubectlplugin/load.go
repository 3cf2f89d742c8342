package kubectlplugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// LoadOptions say what Load reads.
type LoadOptions struct {
	// Namespace is herald's namespace, where its objects live.
	Namespace string
	// LBClass is the spec.loadBalancerClass herald serves ("" for none).
	LBClass string
	// Service, "namespace/name", limits Services and EndpointSlices to that
	// Service and adds its Events and its Namespace (why). Empty, every
	// Service and EndpointSlice is read.
	Service string
	// Secrets reads the password Secrets the BGPPeers name (diff, why); a
	// Secret that cannot be read becomes a Warning.
	Secrets bool
	// Namespaces lists every Namespace (their labels decide pools'
	// namespaceSelectors; diff -f predicts allocations with them).
	Namespaces bool
}

// Load lists the objects the commands read into a Snapshot.
func Load(ctx context.Context, c client.Reader, opts LoadOptions) (*Snapshot, error) {
	s := &Snapshot{Namespace: opts.Namespace, LBClass: opts.LBClass, Now: time.Now()}
	in := client.InNamespace(opts.Namespace)
	lists := []struct {
		what string
		list client.ObjectList
		opts []client.ListOption
	}{
		{"IPAddressPools", &v1beta1.IPAddressPoolList{}, []client.ListOption{in}},
		{"BGPPeers", &v1beta1.BGPPeerList{}, []client.ListOption{in}},
		{"BFDProfiles", &v1beta1.BFDProfileList{}, []client.ListOption{in}},
		{"BGPAdvertisements", &v1beta1.BGPAdvertisementList{}, []client.ListOption{in}},
		{"L2Advertisements", &v1beta1.L2AdvertisementList{}, []client.ListOption{in}},
		{"Communities", &v1beta1.CommunityList{}, []client.ListOption{in}},
		{"NodeStates", &v1beta1.NodeStateList{}, nil},
		{"Nodes", &corev1.NodeList{}, nil},
	}
	for _, l := range lists {
		if err := c.List(ctx, l.list, l.opts...); err != nil {
			return nil, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	s.Pools = lists[0].list.(*v1beta1.IPAddressPoolList).Items
	s.Peers = lists[1].list.(*v1beta1.BGPPeerList).Items
	s.BFDProfiles = lists[2].list.(*v1beta1.BFDProfileList).Items
	s.BGPAdvertisements = lists[3].list.(*v1beta1.BGPAdvertisementList).Items
	s.L2Advertisements = lists[4].list.(*v1beta1.L2AdvertisementList).Items
	s.Communities = lists[5].list.(*v1beta1.CommunityList).Items
	s.NodeStates = lists[6].list.(*v1beta1.NodeStateList).Items
	s.Nodes = lists[7].list.(*corev1.NodeList).Items

	if opts.Service == "" {
		var svcs corev1.ServiceList
		if err := c.List(ctx, &svcs); err != nil {
			return nil, fmt.Errorf("listing Services: %w", err)
		}
		s.Services = svcs.Items
		var eps discoveryv1.EndpointSliceList
		if err := c.List(ctx, &eps); err != nil {
			return nil, fmt.Errorf("listing EndpointSlices: %w", err)
		}
		s.EndpointSlices = eps.Items
	} else {
		ns, name, ok := strings.Cut(opts.Service, "/")
		if !ok || ns == "" || name == "" {
			return nil, fmt.Errorf("service %q: want NAMESPACE/NAME", opts.Service)
		}
		var svc corev1.Service
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &svc); err != nil {
			return nil, fmt.Errorf("reading Service %s: %w", opts.Service, err)
		}
		s.Services = []corev1.Service{svc}
		var eps discoveryv1.EndpointSliceList
		if err := c.List(ctx, &eps, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: name}); err != nil {
			return nil, fmt.Errorf("listing EndpointSlices of %s: %w", opts.Service, err)
		}
		s.EndpointSlices = eps.Items
		var evs corev1.EventList
		if err := c.List(ctx, &evs, client.InNamespace(ns), client.MatchingFields{"involvedObject.kind": "Service", "involvedObject.name": name}); err != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("cannot list the Events of %s: %v", opts.Service, err))
		}
		s.Events = evs.Items
		var n corev1.Namespace
		if err := c.Get(ctx, types.NamespacedName{Name: ns}, &n); err != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("cannot read Namespace %s (its labels decide namespaceSelectors): %v", ns, err))
		} else {
			s.Namespaces = []corev1.Namespace{n}
		}
	}
	if opts.Namespaces && opts.Service == "" {
		var nss corev1.NamespaceList
		if err := c.List(ctx, &nss); err != nil {
			return nil, fmt.Errorf("listing Namespaces: %w", err)
		}
		s.Namespaces = nss.Items
	}
	if opts.Secrets {
		seen := map[string]bool{}
		for _, p := range s.Peers {
			ref := p.Spec.PasswordSecret
			if ref == nil || ref.Name == "" || seen[ref.Name] {
				continue
			}
			seen[ref.Name] = true
			ns := ref.Namespace
			if ns == "" {
				ns = opts.Namespace
			}
			var sec corev1.Secret
			err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &sec)
			switch {
			case err == nil:
				s.Secrets = append(s.Secrets, sec)
			case apierrors.IsNotFound(err):
				// The planner reports the missing Secret itself.
			default:
				s.Warnings = append(s.Warnings, fmt.Sprintf("cannot read the password Secret %s/%s of BGPPeer %s (%v): the expected config leaves that peer out", ns, ref.Name, p.Name, err))
			}
		}
	}
	return s, nil
}
