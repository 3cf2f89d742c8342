package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/speaker/planner"
)

// ConditionAccepted is the condition of BGPPeers, BGPAdvertisements,
// L2Advertisements and BFDProfiles: True when no cross-object problem was
// found, else False with the problems, each naming the field and the fix.
const ConditionAccepted = "Accepted"

// ReasonAccepted is ConditionAccepted's reason when all is well.
const ReasonAccepted = "Accepted"

// bgpStatusResync bounds how stale the conditions get when something the
// reconciler does not watch (a password Secret) changes.
const bgpStatusResync = time.Minute

// bgpStatusServiceDelay is how long a Service change waits before it
// triggers a validation, so that a burst of Services (thousands created at
// once) costs one validation of every object per delay rather than one per
// Service, each listing every Service.
const bgpStatusServiceDelay = time.Second

// BGPStatusReconciler writes the planner's cross-object problems (the same
// checks the speakers apply) to the status of the objects they are about,
// with an event when an object's problems change. It reconciles one key:
// every object at once, since one object's mistake shows on another (a
// BGPPeer naming a BFDProfile that was deleted).
type BGPStatusReconciler struct {
	client    client.Client
	api       client.Reader
	events    events.EventRecorder
	namespace string
	lbClass   string

	mu sync.Mutex
	// community holds the last problems reported per Community, which has
	// no status: only events tell.
	community map[string]string
}

// setupBGPStatus adds the BGPStatusReconciler to mgr.
func setupBGPStatus(mgr manager.Manager, opts Options, events events.EventRecorder) error {
	r := &BGPStatusReconciler{client: mgr.GetClient(), api: mgr.GetAPIReader(), events: events,
		namespace: opts.Namespace, lbClass: opts.LBClass, community: map[string]string{}}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: opts.Namespace, Name: "bgp-status"}}
	key := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{req}
	})
	later := func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		q.AddAfter(req, bgpStatusServiceDelay)
	}
	serviceKey := handler.Funcs{
		CreateFunc: func(ctx context.Context, _ event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			later(ctx, q)
		},
		UpdateFunc: func(ctx context.Context, _ event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			later(ctx, q)
		},
		DeleteFunc: func(ctx context.Context, _ event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			later(ctx, q)
		},
	}
	// A BGPPeer edit is also looked at as an edit: one that resets the
	// peer's sessions is reported on the peer at once (the reconcile
	// below only sees the new version).
	peerKey := handler.Funcs{
		CreateFunc: func(_ context.Context, _ event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q.Add(req)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, ok1 := e.ObjectOld.(*v1beta1.BGPPeer)
			cur, ok2 := e.ObjectNew.(*v1beta1.BGPPeer)
			if ok1 && ok2 {
				if msg, reset := SessionReset(old, cur); reset {
					r.events.Eventf(cur, nil, corev1.EventTypeWarning, ReasonSessionReset, "Edit", "%s", msg)
				}
			}
			q.Add(req)
		},
		DeleteFunc: func(_ context.Context, _ event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q.Add(req)
		},
		GenericFunc: func(_ context.Context, _ event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q.Add(req)
		},
	}
	err := builder.ControllerManagedBy(mgr).
		Named("bgpstatus").
		Watches(&v1beta1.BGPPeer{}, peerKey, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1beta1.BGPAdvertisement{}, key, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1beta1.L2Advertisement{}, key, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1beta1.BFDProfile{}, key, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1beta1.Community{}, key).
		Watches(&v1beta1.IPAddressPool{}, key, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Node{}, key, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(&corev1.Service{}, serviceKey, builder.WithPredicates(announcementInputChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("setting up the bgp status controller: %w", err)
	}
	return nil
}

// Reconcile validates everything and writes each object's condition.
func (r *BGPStatusReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	snap, err := r.snapshot(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	byObject := map[string][]planner.Problem{}
	for _, p := range planner.Validate(&snap) {
		byObject[p.Kind+"/"+p.Name] = append(byObject[p.Kind+"/"+p.Name], p)
	}
	for i := range snap.Peers {
		o := &snap.Peers[i]
		if err := r.setCondition(ctx, o, &o.Status.Conditions, byObject[planner.KindBGPPeer+"/"+o.Name]); err != nil {
			return reconcile.Result{}, err
		}
	}
	for i := range snap.BGPAdvertisements {
		o := &snap.BGPAdvertisements[i]
		if err := r.setCondition(ctx, o, &o.Status.Conditions, byObject[planner.KindBGPAdvertisement+"/"+o.Name]); err != nil {
			return reconcile.Result{}, err
		}
	}
	for i := range snap.L2Advertisements {
		o := &snap.L2Advertisements[i]
		if err := r.setCondition(ctx, o, &o.Status.Conditions, byObject[planner.KindL2Advertisement+"/"+o.Name]); err != nil {
			return reconcile.Result{}, err
		}
	}
	for i := range snap.BFDProfiles {
		o := &snap.BFDProfiles[i]
		if err := r.setCondition(ctx, o, &o.Status.Conditions, byObject[planner.KindBFDProfile+"/"+o.Name]); err != nil {
			return reconcile.Result{}, err
		}
	}
	r.communityEvents(snap.Communities, byObject)
	return reconcile.Result{RequeueAfter: bgpStatusResync}, nil
}

// ReasonSessionReset is the reason of the Warning event on a BGPPeer whose
// edit resets its BGP sessions.
const ReasonSessionReset = "SessionReset"

// SessionReset says whether an edit of a BGPPeer from old to cur resets
// its sessions, and how, for the event on the peer. A myASN edit does: a
// node speaks one ASN per VRF (FRR's "router bgp ASN"), so every node
// opening the peer rebuilds that BGP instance, resetting its sessions; on
// a node where an older BGPPeer of the same VRF keeps the old ASN, the
// edited peer is not opened at all (ASNConflict on its Accepted
// condition).
func SessionReset(old, cur *v1beta1.BGPPeer) (string, bool) {
	if old.Spec.MyASN == cur.Spec.MyASN {
		return "", false
	}
	return fmt.Sprintf("myASN changed from %d to %d: every node opening BGPPeer %s rebuilds its BGP instance of VRF %q, which resets this session and the node's other sessions in that VRF; where an older BGPPeer keeps myASN %d on a node, this one is not opened there (see its Accepted condition). If the edit was a mistake, set myASN back to %d",
		old.Spec.MyASN, cur.Spec.MyASN, cur.Name, cur.Spec.VRF, old.Spec.MyASN, old.Spec.MyASN), true
}

// describeProblems is a condition message for one object's problems.
func describeProblems(ps []planner.Problem) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Field + ": " + p.Message
		if p.Effect != "" {
			parts[i] += " (" + p.Effect + ")"
		}
	}
	return strings.Join(parts, "; ")
}

// setCondition writes obj's ConditionAccepted when it changed, with an
// event. conds points into obj's status.
func (r *BGPStatusReconciler) setCondition(ctx context.Context, obj client.Object, conds *[]metav1.Condition, ps []planner.Problem) error {
	cond := metav1.Condition{Type: ConditionAccepted, ObservedGeneration: obj.GetGeneration(),
		Status: metav1.ConditionTrue, Reason: ReasonAccepted, Message: "no problem found with the objects it refers to"}
	if len(ps) > 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ps[0].Reason, describeProblems(ps)
	}
	old := meta.FindStatusCondition(*conds, ConditionAccepted)
	if old != nil && old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message && old.ObservedGeneration == cond.ObservedGeneration {
		return nil
	}
	base := obj.DeepCopyObject().(client.Object)
	meta.SetStatusCondition(conds, cond)
	if err := r.client.Status().Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patching the status of %T %s: %w", obj, obj.GetName(), err)
	}
	switch {
	case cond.Status == metav1.ConditionFalse:
		r.events.Eventf(obj, nil, corev1.EventTypeWarning, cond.Reason, "Validate", "%s", cond.Message)
	case old != nil && old.Status == metav1.ConditionFalse:
		r.events.Eventf(obj, nil, corev1.EventTypeNormal, ReasonAccepted, "Validate", "the problems are fixed")
	}
	return nil
}

// communityEvents reports Community problems as events (it has no status).
func (r *BGPStatusReconciler) communityEvents(cs []v1beta1.Community, byObject map[string][]planner.Problem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range cs {
		c := &cs[i]
		msg := describeProblems(byObject[planner.KindCommunity+"/"+c.Name])
		if msg == r.community[c.Name] {
			continue
		}
		if msg != "" {
			r.events.Eventf(c, nil, corev1.EventTypeWarning, byObject[planner.KindCommunity+"/"+c.Name][0].Reason, "Validate", "%s", msg)
		}
		r.community[c.Name] = msg
	}
}

// snapshot lists everything the planner's validation reads. The Services
// are the cache's own objects, not copies (the planner only reads them):
// copying thousands of Services per validation was most of the controller's
// CPU and garbage while Services arrived in bulk.
func (r *BGPStatusReconciler) snapshot(ctx context.Context) (planner.Snapshot, error) {
	var svcs corev1.ServiceList
	if err := r.client.List(ctx, &svcs, client.UnsafeDisableDeepCopy); err != nil {
		return planner.Snapshot{}, fmt.Errorf("listing for validation: %w", err)
	}
	s, err := loadSnapshot(ctx, r.client, r.api, r.namespace, r.lbClass, "validation", false)
	if err != nil {
		return s, err
	}
	if s.EndpointSlices, err = listEndpointSlices(ctx, r.client); err != nil {
		return s, fmt.Errorf("listing for validation: %w", err)
	}
	s.Services = svcs.Items
	return s, nil
}

// announcementInputChanged passes Service events that can change what is
// announced (IPs, type, class, traffic policy), not every status write.
type announcementInputChanged struct{ predicate.Funcs }

// Update implements predicate.Predicate.
func (announcementInputChanged) Update(e event.UpdateEvent) bool {
	a, ok1 := e.ObjectOld.(*corev1.Service)
	b, ok2 := e.ObjectNew.(*corev1.Service)
	if !ok1 || !ok2 {
		return true
	}
	return a.Spec.Type != b.Spec.Type || a.Spec.ExternalTrafficPolicy != b.Spec.ExternalTrafficPolicy ||
		!equality.Semantic.DeepEqual(a.Spec.LoadBalancerClass, b.Spec.LoadBalancerClass) ||
		!equality.Semantic.DeepEqual(a.Status.LoadBalancer.Ingress, b.Status.LoadBalancer.Ingress)
}
