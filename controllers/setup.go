package controllers

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// Options configure herald's controller.
type Options struct {
	// Namespace is herald's namespace: pools are read from it.
	Namespace string
	// LBClass is the spec.loadBalancerClass served; "" serves Services with
	// no class.
	LBClass string
	// ServiceWorkers is how many Services are reconciled in parallel
	// (default 8).
	ServiceWorkers int
	// EventQPS and EventBurst bound the Normal events sent (a Service's
	// Allocated event, for one): at most EventQPS a second, in bursts of
	// EventBurst; the rest are skipped and counted. EventQPS 0 sends them
	// all. Warning events are never limited.
	EventQPS   float64
	EventBurst int
}

// Scheme returns a scheme with client-go's types and herald's API.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1beta1.AddToScheme(s))
	return s
}

// ManagerOptions returns manager options suited to the controller: its
// scheme, pools cached from herald's namespace only, and a cache that keeps
// only what the reconcilers read (no managedFields; no last-applied
// annotation but on Services), which bounds memory with many Services. The caller adds
// leader election, metrics and health settings.
func ManagerOptions(opts Options) manager.Options {
	return manager.Options{
		Scheme: Scheme(),
		Cache: cache.Options{
			DefaultTransform: slimObject,
			ByObject: map[client.Object]cache.ByObject{
				&v1beta1.IPAddressPool{}: {Namespaces: map[string]cache.Config{opts.Namespace: {}}},
			},
		},
	}
}

// slimObject drops from cached objects what no reconciler reads: managed
// fields, which the API server keeps when a status write leaves them out,
// and, except on Services, kubectl's last-applied annotation. Services keep
// every annotation: a status update carries them, and may change them
// (statusWriter).
func slimObject(obj any) (any, error) {
	if o, ok := obj.(client.Object); ok {
		o.SetManagedFields(nil)
		if _, svc := o.(*corev1.Service); svc {
			return obj, nil
		}
		if a := o.GetAnnotations(); a != nil {
			if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
				delete(a, corev1.LastAppliedConfigAnnotation)
				o.SetAnnotations(a)
			}
		}
	}
	return obj, nil
}

// shared is what the Service reconciler and the status reconcilers share:
// one event recorder, one announcer (the Service reconciler writes the
// Announced condition with new IPs) and one status writer.
type shared struct {
	events   *normalEventLimiter
	announce *announcer
	status   *statusWriter
}

// newShared makes them for mgr.
func newShared(mgr manager.Manager, opts Options, skipped prometheus.Counter) (*shared, error) {
	ev, err := newEventRecorder(mgr)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("creating the discovery client: %w", err)
	}
	limited := newNormalEventLimiter(ev, opts.EventQPS, opts.EventBurst, skipped, mgr.GetLogger().WithName("events"))
	return &shared{events: limited, announce: newAnnouncer(mgr, opts), status: newStatusWriter(mgr.GetClient(), disco)}, nil
}

// Setup adds herald's controller to mgr: the Service and pool reconcilers,
// registering the allocator metrics on reg, and the status reconcilers of
// SetupStatusReconcilers, whose Announced condition the Service reconciler
// writes with new IPs. All run only in the elected leader.
func Setup(mgr manager.Manager, opts Options, reg prometheus.Registerer) error {
	if opts.Namespace == "" {
		return fmt.Errorf("setting up the controllers: no namespace for herald's pools")
	}
	if opts.ServiceWorkers < 1 {
		opts.ServiceWorkers = 8
	}
	m, err := NewMetrics(reg, mgr.GetCache(), opts.LBClass)
	if err != nil {
		return err
	}
	if err := mgr.Add(leaderGauge{mgr: mgr, gauge: m.leader}); err != nil {
		return fmt.Errorf("adding the leader metric: %w", err)
	}
	st := newState(opts, mgr.GetAPIReader(), m)
	sh, err := newShared(mgr, opts, m.eventsSkipped)
	if err != nil {
		return err
	}

	svc := &ServiceReconciler{client: mgr.GetClient(), events: sh.events, st: st, announce: sh.announce, status: sh.status}
	err = builder.ControllerManagedBy(mgr).
		Named("service").
		For(&corev1.Service{}).
		WatchesRawSource(source.Channel(st.svcEvents, &handler.TypedEnqueueRequestForObject[*corev1.Service]{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.ServiceWorkers}).
		Complete(svc)
	if err != nil {
		return fmt.Errorf("setting up the service controller: %w", err)
	}

	pools := &PoolReconciler{client: mgr.GetClient(), events: sh.events, st: st}
	err = builder.ControllerManagedBy(mgr).
		Named("ipaddresspool").
		Watches(&v1beta1.IPAddressPool{}, handler.EnqueueRequestsFromMapFunc(poolsKey(opts.Namespace))).
		WatchesRawSource(source.Channel(st.poolEvents, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(pools)
	if err != nil {
		return fmt.Errorf("setting up the pool controller: %w", err)
	}
	return setupStatusReconcilers(mgr, opts, sh)
}
