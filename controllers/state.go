package controllers

import (
	"context"
	"fmt"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/heraldlb/herald/ipam"
)

// state is what the Service and pool reconcilers share: the allocator, the
// one-time restore that must precede any allocation, and the queues by which
// one reconciler asks the other for work.
type state struct {
	opts    Options
	alloc   *ipam.Allocator
	reader  client.Reader // the API server itself, not the cache
	metrics *Metrics

	restoreMu sync.Mutex
	restored  bool

	mu      sync.Mutex
	pending map[string]struct{} // Services whose last allocation failed
	// poolsSig identifies the pool set last given to SetPools, and
	// poolsErrs the per-pool errors it gave.
	poolsSig  string
	poolsErrs map[string]error
	// lastGoodPools is the last definition of each pool that converted
	// cleanly; a pool whose edit does not convert keeps serving it.
	lastGoodPools map[string]ipam.Pool

	// svcEvents asks the Service reconciler to look at a Service again;
	// poolEvents asks the pool reconciler to refresh pool status.
	svcEvents  chan event.TypedGenericEvent[*corev1.Service]
	poolEvents chan event.GenericEvent
}

func newState(opts Options, reader client.Reader, m *Metrics) *state {
	return &state{
		opts:       opts,
		alloc:      ipam.New(),
		reader:     reader,
		metrics:    m,
		pending:    map[string]struct{}{},
		svcEvents:  make(chan event.TypedGenericEvent[*corev1.Service], 1024),
		poolEvents: make(chan event.GenericEvent, 1),
	}
}

func (s *state) setPending(key string, pending bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pending {
		s.pending[key] = struct{}{}
	} else {
		delete(s.pending, key)
	}
}

func (s *state) pendingKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.pending))
	for k := range s.pending {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// requeueServices asks the Service reconciler to look at these Services
// again ("namespace/name" keys). It does not block the caller for long: the
// channel is drained by the controller's source.
func (s *state) requeueServices(ctx context.Context, keys []string) {
	for _, k := range keys {
		ns, name, ok := splitKey(k)
		if !ok {
			continue
		}
		ev := event.TypedGenericEvent[*corev1.Service]{Object: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
		select {
		case s.svcEvents <- ev:
		case <-ctx.Done():
			return
		}
	}
}

// refreshPools asks the pool reconciler to refresh pool status and metrics;
// requests made while one is queued are merged.
func (s *state) refreshPools() {
	select {
	case s.poolEvents <- event.GenericEvent{Object: poolTrigger(s.opts.Namespace)}:
	default:
	}
}

func splitKey(k string) (ns, name string, ok bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:], true
		}
	}
	return "", "", false
}

// restore rebuilds the allocator from the API server, once, before the first
// allocation: the pools, then every served Service's status IPs, oldest
// Service first so that if two Services claim one address the older keeps
// it. Services whose addresses cannot be restored are queued to be
// allocated again.
func (s *state) restore(ctx context.Context) error {
	s.restoreMu.Lock()
	defer s.restoreMu.Unlock()
	if s.restored {
		return nil
	}
	logger := log.FromContext(ctx)
	pools, err := listPools(ctx, s.reader, s.opts.Namespace)
	if err != nil {
		return err
	}
	s.applyPools(ctx, pools)

	nsLabels := map[string]map[string]string{}
	var nsList corev1.NamespaceList
	if err := s.reader.List(ctx, &nsList); err != nil {
		return fmt.Errorf("listing namespaces to restore allocations: %w", err)
	}
	for _, n := range nsList.Items {
		nsLabels[n.Name] = n.Labels
	}

	var svcs []corev1.Service
	var list corev1.ServiceList
	opts := []client.ListOption{client.Limit(500)}
	for {
		if err := s.reader.List(ctx, &list, opts...); err != nil {
			return fmt.Errorf("listing services to restore allocations: %w", err)
		}
		for _, svc := range list.Items {
			if Serves(&svc, s.opts.LBClass) && len(StatusIPs(&svc)) > 0 {
				svcs = append(svcs, svc)
			}
		}
		if list.Continue == "" {
			break
		}
		opts = []client.ListOption{client.Limit(500), client.Continue(list.Continue)}
	}
	sort.Slice(svcs, func(i, j int) bool {
		ti, tj := svcs[i].CreationTimestamp, svcs[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return keyOf(&svcs[i]) < keyOf(&svcs[j])
	})
	var again []string
	for i := range svcs {
		svc := &svcs[i]
		req, err := ReadRequest(svc)
		if err != nil {
			// The request is unreadable now, but the address it got
			// earlier stays its own: restore it with no request.
			req = Request{}
		}
		if err := s.alloc.Restore(toIPAM(svc, req, nsLabels[svc.Namespace]), StatusIPs(svc)); err != nil {
			logger.Info("cannot restore a Service's addresses; it will be allocated again",
				"service", keyOf(svc), "ips", StatusIPs(svc), "reason", err.Error())
			again = append(again, keyOf(svc))
		}
	}
	s.restored = true
	s.metrics.restoredAtStart.Set(float64(len(svcs) - len(again)))
	logger.Info("restored allocations from the API server", "services", len(svcs)-len(again), "toReallocate", len(again))
	s.refreshPools()
	go s.requeueServices(ctx, again)
	return nil
}

// keyOf is a Service's allocator key.
func keyOf(svc *corev1.Service) string {
	return types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}.String()
}

// toIPAM converts a Service and its parsed request to the allocator's view.
func toIPAM(svc *corev1.Service, req Request, nsLabels map[string]string) ipam.Service {
	out := ipam.Service{
		Key:             keyOf(svc),
		Namespace:       svc.Namespace,
		NamespaceLabels: nsLabels,
		Labels:          svc.Labels,
		RequestedIPs:    req.IPs,
		Pool:            req.Pool,
		SharingKey:      req.SharingKey,
		Selector:        svc.Spec.Selector,
		TrafficPolicy:   ipam.TrafficPolicy(svc.Spec.ExternalTrafficPolicy),
	}
	if svc.Spec.IPFamilyPolicy != nil {
		out.IPFamilyPolicy = ipam.FamilyPolicy(*svc.Spec.IPFamilyPolicy)
	}
	for _, f := range svc.Spec.IPFamilies {
		out.IPFamilies = append(out.IPFamilies, ipam.Family(f))
	}
	for _, p := range svc.Spec.Ports {
		out.Ports = append(out.Ports, ipam.Port{Protocol: string(p.Protocol), Port: p.Port})
	}
	return out
}
