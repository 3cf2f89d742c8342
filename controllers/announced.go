package controllers

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// ConditionAnnounced is the Service condition saying which nodes announce
// its IPs to which peers (BGP) or answer for them (L2), as the speakers
// report in their NodeStates, or why none does.
const ConditionAnnounced = "heraldlb.io/Announced"

// Reasons of ConditionAnnounced besides planner's Explain reasons.
const (
	// ReasonAnnounced: every IP is announced by at least one node.
	ReasonAnnounced = "Announced"
	// ReasonSessionsDown: nodes should announce, but their BGP sessions
	// with the peers are not Established.
	ReasonSessionsDown = "SessionsDown"
	// ReasonPending: nodes should announce and have not reported it yet.
	ReasonPending = "Pending"
	// ReasonIPConflict: another host holds an IP (a node's NodeState
	// reports it in ipConflicts).
	ReasonIPConflict = "IPConflict"
)

// serviceIPIndex indexes Services by the IPs in their status.
const serviceIPIndex = "heraldlb.io/status-ip"

// AnnouncedReconciler keeps ConditionAnnounced of herald's Services up to
// date from the NodeStates.
type AnnouncedReconciler struct {
	client client.Client
	ann    *announcer
	events events.EventRecorder
	status *statusWriter
}

// SetupStatusReconcilers adds the AnnouncedReconciler and the
// BGPStatusReconciler to mgr; like the allocator, they run in the elected
// leader only.
func SetupStatusReconcilers(mgr manager.Manager, opts Options) error {
	sh, err := newShared(mgr, opts, nil)
	if err != nil {
		return err
	}
	return setupStatusReconcilers(mgr, opts, sh)
}

// setupStatusReconcilers adds the status reconcilers with what they share
// with the Service reconciler.
func setupStatusReconcilers(mgr manager.Manager, opts Options, sh *shared) error {
	if err := setupAnnounced(context.Background(), mgr, sh); err != nil {
		return err
	}
	return setupBGPStatus(mgr, opts, sh.events)
}

// setupAnnounced adds the AnnouncedReconciler to mgr. ctx is used while
// registering the Service IP index.
func setupAnnounced(ctx context.Context, mgr manager.Manager, sh *shared) error {
	r := &AnnouncedReconciler{client: mgr.GetClient(), ann: sh.announce, events: sh.events, status: sh.status}
	err := mgr.GetFieldIndexer().IndexField(ctx, &corev1.Service{}, serviceIPIndex, func(o client.Object) []string {
		var out []string
		for _, ip := range StatusIPs(o.(*corev1.Service)) {
			out = append(out, ip.String())
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("indexing services by IP: %w", err)
	}
	// Every handler moves the announcer's epoch: what it tells of changes
	// what conditions are computed from.
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		r.ann.changed()
		return r.allServices(ctx, o)
	})
	// Pools, BFD profiles and Communities are read by the planner's
	// explanation too, but change no NodeState by themselves.
	changedOnly := handler.Funcs{
		CreateFunc: func(context.Context, event.TypedCreateEvent[client.Object], workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.ann.changed()
		},
		UpdateFunc: func(context.Context, event.TypedUpdateEvent[client.Object], workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.ann.changed()
		},
		DeleteFunc: func(context.Context, event.TypedDeleteEvent[client.Object], workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.ann.changed()
		},
	}
	err = builder.ControllerManagedBy(mgr).
		Named("announced").
		For(&corev1.Service{}).
		Watches(&v1beta1.NodeState{}, handler.Funcs{
			CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.enqueueChanged(ctx, nil, e.Object.(*v1beta1.NodeState), q)
			},
			UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.enqueueChanged(ctx, e.ObjectOld.(*v1beta1.NodeState), e.ObjectNew.(*v1beta1.NodeState), q)
			},
			DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				if ns, ok := e.Object.(*v1beta1.NodeState); ok {
					r.enqueueChanged(ctx, ns, nil, q)
				}
			},
		}).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			r.ann.changed()
			name := o.GetLabels()[discoveryv1.LabelServiceName]
			if name == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
		})).
		Watches(&v1beta1.BGPAdvertisement{}, all).
		Watches(&v1beta1.L2Advertisement{}, all).
		Watches(&v1beta1.BGPPeer{}, all).
		Watches(&corev1.Node{}, all, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(&v1beta1.IPAddressPool{}, changedOnly).
		Watches(&v1beta1.BFDProfile{}, changedOnly).
		Watches(&v1beta1.Community{}, changedOnly).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("setting up the announced controller: %w", err)
	}
	return nil
}

// allServices enqueues every Service with IPs.
func (r *AnnouncedReconciler) allServices(ctx context.Context, _ client.Object) []reconcile.Request {
	var svcs corev1.ServiceList
	if err := r.client.List(ctx, &svcs); err != nil {
		log.FromContext(ctx).Error(err, "listing services")
		return nil
	}
	var out []reconcile.Request
	for i := range svcs.Items {
		if len(svcs.Items[i].Status.LoadBalancer.Ingress) > 0 {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&svcs.Items[i])})
		}
	}
	return out
}

// announcedSet is what a NodeState says is announced: prefix or IP → who.
func announcedSet(ns *v1beta1.NodeState) map[string]string {
	out := map[string]string{}
	if ns == nil {
		return out
	}
	up := map[string]string{}
	for _, s := range ns.Status.BGPSessions {
		up[s.VRF+"|"+s.Peer] = s.State
	}
	for _, a := range ns.Status.BGPAnnouncements {
		for _, p := range a.Prefixes {
			out[p] += a.VRF + "|" + a.Peer + "=" + up[a.VRF+"|"+a.Peer] + ";"
		}
	}
	for _, a := range ns.Status.L2Announcements {
		out[a.IP] += "l2:" + a.Interface + ";"
	}
	for _, c := range ns.Status.IPConflicts {
		out[c.IP] += fmt.Sprintf("conflict:%s/%s/%s/%v;", c.Mode, c.Interface, c.MAC, c.Announcing)
	}
	return out
}

// enqueueChanged enqueues the Services whose IPs a NodeState change touches.
func (r *AnnouncedReconciler) enqueueChanged(ctx context.Context, old, new *v1beta1.NodeState, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	r.ann.changed()
	a, b := announcedSet(old), announcedSet(new)
	changed := map[string]bool{}
	for k, v := range a {
		if b[k] != v {
			changed[k] = true
		}
	}
	for k, v := range b {
		if a[k] != v {
			changed[k] = true
		}
	}
	for k := range changed {
		if ip, err := netip.ParseAddr(k); err == nil {
			r.enqueueIP(ctx, ip.String(), q)
			continue
		}
		p, err := netip.ParsePrefix(k)
		if err != nil {
			continue
		}
		if p.IsSingleIP() {
			r.enqueueIP(ctx, p.Addr().String(), q)
			continue
		}
		// An aggregate: every Service may be under it (rare).
		for _, req := range r.allServices(ctx, nil) {
			q.Add(req)
		}
		return
	}
}

func (r *AnnouncedReconciler) enqueueIP(ctx context.Context, ip string, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	var svcs corev1.ServiceList
	if err := r.client.List(ctx, &svcs, client.MatchingFields{serviceIPIndex: ip}); err != nil {
		log.FromContext(ctx).Error(err, "listing services by IP", "ip", ip)
		return
	}
	for i := range svcs.Items {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&svcs.Items[i])})
	}
}

// Reconcile sets one Service's Announced condition.
func (r *AnnouncedReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var svc corev1.Service
	if err := r.client.Get(ctx, req.NamespacedName, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			r.ann.forget(req.NamespacedName)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("getting service %s: %w", req, err)
	}
	if r.ann.upToDate(req.NamespacedName, &svc) {
		// The Service reconciler's write of its new IPs, with the
		// condition computed since the last change to the cluster.
		return reconcile.Result{}, nil
	}
	cond, err := r.ann.condition(ctx, &svc)
	if err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, r.write(ctx, &svc, cond)
}

// write sets (or with nil removes) the condition, with an event when it
// changes.
func (r *AnnouncedReconciler) write(ctx context.Context, svc *corev1.Service, cond *metav1.Condition) error {
	updated := svc.DeepCopy()
	if !setAnnounced(&updated.Status.Conditions, cond) {
		return nil
	}
	// When the Service reconciler wrote meanwhile, the update is refused
	// and the write becomes a patch carrying only the Announced condition,
	// which merges with that write (no retry storm when both write the same
	// Service at once).
	if err := r.status.write(ctx, svc, updated); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("writing the announced condition of service %s: %w", keyOf(svc), err)
	}
	announcedEvent(r.events, svc, meta.FindStatusCondition(svc.Status.Conditions, ConditionAnnounced), cond)
	return nil
}

// setAnnounced sets cond as the Announced condition of conds, or removes it
// when cond is nil; it reports whether conds changed.
func setAnnounced(conds *[]metav1.Condition, cond *metav1.Condition) bool {
	old := meta.FindStatusCondition(*conds, ConditionAnnounced)
	if cond == nil {
		return meta.RemoveStatusCondition(conds, ConditionAnnounced)
	}
	if sameAnnounced(old, cond) {
		return false
	}
	meta.SetStatusCondition(conds, *cond)
	return true
}

// announcedEvent records an event when the Announced condition moved from
// old to cond (its status or reason changed), once the change is written.
func announcedEvent(events events.EventRecorder, svc *corev1.Service, old, cond *metav1.Condition) {
	if cond == nil || (old != nil && old.Reason == cond.Reason && old.Status == cond.Status) {
		return
	}
	kind := corev1.EventTypeNormal
	if cond.Status != metav1.ConditionTrue {
		kind = corev1.EventTypeWarning
	}
	events.Eventf(svc, nil, kind, cond.Reason, "Announce", "%s", cond.Message)
}
