package controllers

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

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
	"github.com/heraldlb/herald/speaker/planner"
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

// announcer computes a Service's Announced condition from the cluster as
// the cache shows it. The AnnouncedReconciler and the Service reconciler
// share it: the Service reconciler writes the condition in the same status
// write as new IPs, so a new Service costs one write, not two.
type announcer struct {
	client client.Reader
	// api reads password Secrets uncached (the controller caches none).
	api       client.Reader
	namespace string
	lbClass   string
}

// SetupStatusReconcilers adds the AnnouncedReconciler and the
// BGPStatusReconciler to mgr; like the allocator, they run in the elected
// leader only.
func SetupStatusReconcilers(mgr manager.Manager, opts Options) error {
	sh, err := newShared(mgr, opts)
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
	all := handler.EnqueueRequestsFromMapFunc(r.allServices)
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
	return out
}

// enqueueChanged enqueues the Services whose IPs a NodeState change touches.
func (r *AnnouncedReconciler) enqueueChanged(ctx context.Context, old, new *v1beta1.NodeState, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
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
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("getting service %s: %w", req, err)
	}
	cond, err := r.ann.condition(ctx, &svc)
	if err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, r.write(ctx, &svc, cond)
}

// newAnnouncer is the announcer of mgr's cache for opts.
func newAnnouncer(mgr manager.Manager, opts Options) *announcer {
	return &announcer{client: mgr.GetClient(), api: mgr.GetAPIReader(), namespace: opts.Namespace, lbClass: opts.LBClass}
}

// condition is the Announced condition svc should carry, or nil when it
// should carry none (not herald's, no IPs, being deleted).
func (a *announcer) condition(ctx context.Context, svc *corev1.Service) (*metav1.Condition, error) {
	ips := StatusIPs(svc)
	if !Serves(svc, a.lbClass) || len(ips) == 0 || !svc.DeletionTimestamp.IsZero() {
		return nil, nil
	}
	var states v1beta1.NodeStateList
	// The cache's own objects, not copies: they are only read here, and
	// each holds every prefix its node announces.
	if err := a.client.List(ctx, &states, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing node states: %w", err)
	}
	seen := Announcements(ips, states.Items)
	cond := metav1.Condition{Type: ConditionAnnounced, ObservedGeneration: svc.Generation, Status: metav1.ConditionTrue, Reason: ReasonAnnounced}
	var msgs []string
	var missing []netip.Addr
	for _, ip := range ips {
		if d := seen[ip].describe(); d != "" {
			msgs = append(msgs, ip.String()+": "+d)
		} else {
			missing = append(missing, ip)
		}
	}
	if len(missing) > 0 {
		snap, err := a.snapshotFor(ctx, svc)
		if err != nil {
			return nil, err
		}
		expected := planner.Explain(&snap, keyOf(svc))
		cond.Status = metav1.ConditionFalse
		var notes []string
		for _, ip := range missing {
			for _, e := range expected {
				if e.IP != ip {
					continue
				}
				reason, msg := whyMissing(&e, states.Items)
				if cond.Reason == ReasonAnnounced {
					cond.Reason = reason
				}
				notes = append(notes, ip.String()+": not announced: "+msg)
			}
		}
		msgs = append(notes, msgs...)
	}
	cond.Message = strings.Join(msgs, "; ")
	if len(cond.Message) > 32000 {
		cond.Message = cond.Message[:32000] + "..."
	}
	return &cond, nil
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
	if old != nil && old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message && old.ObservedGeneration == cond.ObservedGeneration {
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

// snapshotFor is what planner.Explain needs for one Service.
func (a *announcer) snapshotFor(ctx context.Context, svc *corev1.Service) (planner.Snapshot, error) {
	s, err := loadSnapshot(ctx, a.client, a.api, a.namespace, a.lbClass, "the announced condition", true,
		client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name})
	s.Services = []corev1.Service{*svc}
	return s, err
}

// loadSnapshot lists what the planner reads besides Services: the
// EndpointSlices that epsOpts select, Nodes, herald's objects in namespace
// and, uncached through api, the peers' password Secrets. what names the
// caller in errors. EndpointSlices and Nodes are the cache's own objects,
// not copies: the planner only reads them, and a cluster has many. herald's
// objects are copies, which the caller may change (their status), unless
// readOnly: then they are the cache's own too (the Announced condition
// reads them for every new IP).
func loadSnapshot(ctx context.Context, c, api client.Reader, namespace, lbClass, what string, readOnly bool, epsOpts ...client.ListOption) (planner.Snapshot, error) {
	s := planner.Snapshot{Namespace: namespace, LBClass: lbClass}
	var (
		eps   discoveryv1.EndpointSliceList
		nodes corev1.NodeList
		pools v1beta1.IPAddressPoolList
		peers v1beta1.BGPPeerList
		bfds  v1beta1.BFDProfileList
		advs  v1beta1.BGPAdvertisementList
		l2s   v1beta1.L2AdvertisementList
		comms v1beta1.CommunityList
	)
	in := []client.ListOption{client.InNamespace(namespace)}
	if readOnly {
		in = append(in, client.UnsafeDisableDeepCopy)
	}
	for _, l := range []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&eps, append(epsOpts, client.UnsafeDisableDeepCopy)}, {&nodes, []client.ListOption{client.UnsafeDisableDeepCopy}}, {&pools, in}, {&peers, in}, {&bfds, in},
		{&advs, in}, {&l2s, in}, {&comms, in},
	} {
		if err := c.List(ctx, l.list, l.opts...); err != nil {
			return s, fmt.Errorf("listing for %s: %w", what, err)
		}
	}
	s.EndpointSlices, s.Nodes, s.Pools, s.Peers = eps.Items, nodes.Items, pools.Items, peers.Items
	s.BFDProfiles, s.BGPAdvertisements, s.L2Advertisements, s.Communities = bfds.Items, advs.Items, l2s.Items, comms.Items
	secrets, err := peerSecrets(ctx, api, namespace, peers.Items)
	if err != nil {
		return s, err
	}
	s.Secrets = secrets
	return s, nil
}

// peerSecrets reads the password Secrets the peers name, uncached.
func peerSecrets(ctx context.Context, api client.Reader, namespace string, peers []v1beta1.BGPPeer) ([]corev1.Secret, error) {
	var out []corev1.Secret
	seen := map[string]bool{}
	for _, p := range peers {
		ref := p.Spec.PasswordSecret
		if ref == nil {
			continue
		}
		ns := ref.Namespace
		if ns == "" {
			ns = namespace
		}
		if seen[ns+"/"+ref.Name] {
			continue
		}
		seen[ns+"/"+ref.Name] = true
		var s corev1.Secret
		err := api.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, &s)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("getting secret %s/%s of BGPPeer %s: %w", ns, ref.Name, p.Name, err)
		default:
			out = append(out, s)
		}
	}
	return out, nil
}

// Seen is who announces one IP according to the NodeStates.
type Seen struct {
	// BGP maps node to the peers (BGPPeer names, else addresses) it
	// announces the IP to over an Established session.
	BGP map[string][]string
	// L2 maps node to the interfaces it answers on.
	L2 map[string][]string
}

func (s Seen) describe() string {
	var parts []string
	if len(s.BGP) > 0 {
		var ns []string
		for _, n := range sortedMapKeys(s.BGP) {
			ns = append(ns, fmt.Sprintf("%s (to %s)", n, strings.Join(s.BGP[n], ", ")))
		}
		parts = append(parts, "BGP from "+strings.Join(ns, ", "))
	}
	if len(s.L2) > 0 {
		var ns []string
		for _, n := range sortedMapKeys(s.L2) {
			ns = append(ns, fmt.Sprintf("%s on %s", n, strings.Join(s.L2[n], ", ")))
		}
		parts = append(parts, "L2 from "+strings.Join(ns, ", "))
	}
	return strings.Join(parts, "; ")
}

func sortedMapKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Announcements reads from the NodeStates who announces each of ips.
func Announcements(ips []netip.Addr, states []v1beta1.NodeState) map[netip.Addr]Seen {
	out := map[netip.Addr]Seen{}
	for _, ip := range ips {
		out[ip] = Seen{BGP: map[string][]string{}, L2: map[string][]string{}}
	}
	for _, ns := range states {
		sessions := map[string]v1beta1.BGPSessionStatus{}
		for _, s := range ns.Status.BGPSessions {
			sessions[s.VRF+"|"+s.Peer] = s
		}
		for _, a := range ns.Status.BGPAnnouncements {
			s, ok := sessions[a.VRF+"|"+a.Peer]
			if ok && s.State != "Established" {
				continue
			}
			name := a.Peer
			if s.PeerName != "" {
				name = s.PeerName
			}
			for _, p := range a.Prefixes {
				pfx, err := netip.ParsePrefix(p)
				if err != nil {
					continue
				}
				for _, ip := range ips {
					if pfx.Contains(ip) && !slices.Contains(out[ip].BGP[ns.Name], name) {
						out[ip].BGP[ns.Name] = append(out[ip].BGP[ns.Name], name)
					}
				}
			}
		}
		for _, a := range ns.Status.L2Announcements {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				continue
			}
			if seen, ok := out[ip.Unmap()]; ok && !slices.Contains(seen.L2[ns.Name], a.Interface) {
				seen.L2[ns.Name] = append(seen.L2[ns.Name], a.Interface)
			}
		}
	}
	return out
}

// whyMissing explains an IP nobody reports announcing: the planner's
// reason, or, when nodes should announce it, what their NodeStates say.
func whyMissing(e *planner.Expected, states []v1beta1.NodeState) (string, string) {
	if e.Reason != "" {
		return e.Reason, e.Message
	}
	byNode := map[string]*v1beta1.NodeState{}
	for i := range states {
		byNode[states[i].Name] = &states[i]
	}
	var down, pending []string
	for _, n := range sortedMapKeys(e.BGP) {
		ns := byNode[n]
		if ns == nil {
			pending = append(pending, n+" (no NodeState yet)")
			continue
		}
		for _, peer := range e.BGP[n] {
			state := ""
			for _, s := range ns.Status.BGPSessions {
				if s.PeerName == peer {
					state = s.State
				}
			}
			switch state {
			case "Established":
				pending = append(pending, n+" to "+peer)
			case "":
				down = append(down, fmt.Sprintf("%s to %s (no session)", n, peer))
			default:
				down = append(down, fmt.Sprintf("%s to %s (%s)", n, peer, state))
			}
		}
	}
	if len(down) > 0 {
		return ReasonSessionsDown, "the BGP sessions it should be announced over are not Established: " + strings.Join(down, ", ") + ": check the peers and the nodes' NodeStates"
	}
	if len(e.L2Nodes) > 0 {
		pending = append(pending, "L2 on one of "+strings.Join(e.L2Nodes, ", "))
	}
	return ReasonPending, "the speakers have not reported it yet: expected from " + strings.Join(pending, ", ")
}
