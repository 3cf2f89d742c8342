package speaker

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/drill"
	"github.com/heraldlb/herald/speaker/health"
)

// Scheme returns a scheme with client-go's types and herald's API.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1beta1.AddToScheme(s))
	return s
}

// ManagerOptions returns manager options for the speaker of node in
// herald's namespace: herald's objects and Secrets cached from that
// namespace only, and transforms that keep only what the planner reads (no
// managedFields; EndpointSlices without ports, and with addresses only for
// this node's endpoints, which the health checks probe; Nodes without
// images and capacity; Services with only their type, class, traffic
// policy, health check annotations and ingress IPs; other nodes'
// NodeStates with only their .status.healthGated). The caller adds
// metrics and health settings. No leader election: every node runs one.
func ManagerOptions(node, namespace string) manager.Options {
	inNS := cache.ByObject{Namespaces: map[string]cache.Config{namespace: {}}}
	return manager.Options{
		Scheme: Scheme(),
		Cache: cache.Options{
			DefaultTransform: slim,
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}:             inNS,
				&v1beta1.IPAddressPool{}:     inNS,
				&v1beta1.BGPPeer{}:           inNS,
				&v1beta1.BFDProfile{}:        inNS,
				&v1beta1.BGPAdvertisement{}:  inNS,
				&v1beta1.L2Advertisement{}:   inNS,
				&v1beta1.Community{}:         inNS,
				&v1beta1.NodeState{}:         {Transform: slimNodeState(node)},
				&discoveryv1.EndpointSlice{}: {Transform: slimEndpointSlice(node)},
				&corev1.Node{}:               {Transform: slimNode},
				&corev1.Service{}:            {Transform: slimService},
			},
		},
	}
}

// slim drops what no one reads from every cached object.
func slim(obj any) (any, error) {
	if o, ok := obj.(client.Object); ok {
		o.SetManagedFields(nil)
		if a := o.GetAnnotations(); a != nil {
			if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
				delete(a, corev1.LastAppliedConfigAnnotation)
				o.SetAnnotations(a)
			}
		}
	}
	return obj, nil
}

// slimEndpointSlice keeps, per endpoint, its node and readiness, and the
// addresses of node's endpoints (the health checks' targets).
func slimEndpointSlice(node string) func(any) (any, error) {
	return func(obj any) (any, error) {
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
			s.Ports = nil
			s.Annotations = nil
			for i := range s.Endpoints {
				e := &s.Endpoints[i]
				if e.NodeName == nil || *e.NodeName != node {
					e.Addresses = nil
				}
				e.Hostname = nil
				e.TargetRef = nil
				e.Hints = nil
				e.DeprecatedTopology = nil
				e.Zone = nil
			}
		}
		return slim(obj)
	}
}

// slimNodeState keeps node's own NodeState whole (the speaker writes it)
// and of the others only what the planner reads, .status.healthGated.
func slimNodeState(node string) func(any) (any, error) {
	return func(obj any) (any, error) {
		if s, ok := obj.(*v1beta1.NodeState); ok && s.Name != node {
			s.Status = v1beta1.NodeStateStatus{HealthGated: s.Status.HealthGated}
		}
		return slim(obj)
	}
}

// slimService keeps what the planner reads: type, class, traffic policy,
// the ingress IPs, the drill annotation and the health check annotations.
func slimService(obj any) (any, error) {
	if s, ok := obj.(*corev1.Service); ok {
		var keep map[string]string
		for k, v := range s.Annotations {
			if k == drill.Annotation || strings.HasPrefix(k, health.AnnotationPrefix) {
				if keep == nil {
					keep = map[string]string{}
				}
				keep[k] = v
			}
		}
		s.Annotations = keep
		s.Spec = corev1.ServiceSpec{Type: s.Spec.Type, LoadBalancerClass: s.Spec.LoadBalancerClass,
			ExternalTrafficPolicy: s.Spec.ExternalTrafficPolicy}
		s.Status.Conditions = nil
	}
	return slim(obj)
}

// slimNode keeps labels, conditions and addresses.
func slimNode(obj any) (any, error) {
	if n, ok := obj.(*corev1.Node); ok {
		n.Annotations = nil
		n.Status.Images = nil
		n.Status.Capacity = nil
		n.Status.Allocatable = nil
		n.Status.VolumesInUse = nil
		n.Status.VolumesAttached = nil
		n.Status.NodeInfo = corev1.NodeSystemInfo{}
		for i := range n.Status.Conditions {
			n.Status.Conditions[i].LastHeartbeatTime = n.Status.Conditions[i].LastTransitionTime
			n.Status.Conditions[i].Message = ""
		}
	}
	return slim(obj)
}

// watched are the kinds whose changes make the speaker plan again.
func watched() []client.Object {
	return []client.Object{
		&corev1.Service{}, &discoveryv1.EndpointSlice{}, &corev1.Node{}, &corev1.Secret{},
		&v1beta1.IPAddressPool{}, &v1beta1.BGPPeer{}, &v1beta1.BFDProfile{},
		&v1beta1.BGPAdvertisement{}, &v1beta1.L2Advertisement{}, &v1beta1.Community{},
	}
}

// Setup creates the speaker on mgr: its informers trigger a plan on every
// change, and it runs (and withdraws on shutdown) as one of mgr's
// runnables. cfg's Reader and Client default to mgr's.
func Setup(ctx context.Context, mgr manager.Manager, cfg Config) (*Speaker, error) {
	if cfg.Reader == nil {
		cfg.Reader = mgr.GetCache()
	}
	if cfg.Client == nil {
		cfg.Client = mgr.GetClient()
	}
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	h := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.Trigger() },
		UpdateFunc: func(_, _ any) { s.Trigger() },
		DeleteFunc: func(any) { s.Trigger() },
	}
	for _, obj := range watched() {
		inf, err := mgr.GetCache().GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("watching %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, fmt.Errorf("watching %T: %w", obj, err)
		}
	}
	// The NodeState is read back through the cache too; deleted, it is
	// written again. The other nodes' NodeStates say which Services their
	// health checks gate.
	inf, err := mgr.GetCache().GetInformer(ctx, &v1beta1.NodeState{})
	if err != nil {
		return nil, fmt.Errorf("watching NodeState: %w", err)
	}
	if _, err := inf.AddEventHandler(nodeStateHandler(s, cfg.Node)); err != nil {
		return nil, fmt.Errorf("watching NodeState: %w", err)
	}
	if err := mgr.Add(manager.RunnableFunc(s.runWhenSynced(mgr.GetCache()))); err != nil {
		return nil, fmt.Errorf("adding the speaker to the manager: %w", err)
	}
	return s, nil
}

// runWhenSynced waits for the cache before the first plan: planning from a
// half-filled cache would withdraw what is not listed yet.
func (s *Speaker) runWhenSynced(c cache.Cache) func(context.Context) error {
	return func(ctx context.Context) error {
		if !c.WaitForCacheSync(ctx) {
			return nil
		}
		return s.Run(ctx)
	}
}

// nodeStateHandler writes this node's NodeState again when it is deleted,
// and plans again when another node's health gates change.
func nodeStateHandler(s *Speaker, node string) toolscache.ResourceEventHandlerFuncs {
	gates := func(obj any) []v1beta1.HealthGate {
		if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if ns, ok := obj.(*v1beta1.NodeState); ok && ns.Name != node {
			return ns.Status.HealthGated
		}
		return nil
	}
	name := func(obj any) string {
		if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			return t.Key
		}
		if ns, ok := obj.(*v1beta1.NodeState); ok {
			return ns.Name
		}
		return ""
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if len(gates(obj)) > 0 {
				s.Trigger()
			}
		},
		UpdateFunc: func(old, new any) {
			if !equality.Semantic.DeepEqual(gates(old), gates(new)) {
				s.Trigger()
			}
		},
		DeleteFunc: func(obj any) {
			if name(obj) == node {
				s.NodeStateDeleted()
				return
			}
			if len(gates(obj)) > 0 {
				s.Trigger()
			}
		},
	}
}
