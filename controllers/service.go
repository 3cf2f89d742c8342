package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/heraldlb/herald/ipam"
)

// ConditionIPAllocated is the Service condition herald writes: True with the
// IPs and their pool, or False with the allocator's reason and what to
// change.
const ConditionIPAllocated = "heraldlb.io/IPAllocated"

// Reasons of ConditionIPAllocated besides the allocator's ipam.Reason values.
const (
	// ReasonAllocated: the Service has its IPs.
	ReasonAllocated = "Allocated"
	// ReasonNotServed: the Service is no longer herald's (type or class
	// changed); the condition is removed then, so this only names the event.
	ReasonNotServed = "NotServed"
)

// ServiceReconciler gives LoadBalancer Services their IPs.
type ServiceReconciler struct {
	client client.Client
	events events.EventRecorder
	st     *state
	// announce computes the Announced condition written in the same write
	// as changed IPs (the AnnouncedReconciler keeps it up to date after).
	announce *announcer
	status   *statusWriter
	// checks reports health-check annotations that do not parse.
	checks annotationReports
}

// Reconcile brings one Service's allocation and status up to date.
func (r *ServiceReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if err := r.st.restore(ctx); err != nil {
		return reconcile.Result{}, err
	}
	key := req.String()
	var svc corev1.Service
	if err := r.client.Get(ctx, req.NamespacedName, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			r.checks.forget(key)
			r.release(ctx, key)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("getting service %s: %w", key, err)
	}
	if !svc.DeletionTimestamp.IsZero() {
		// Still holding its IPs until it is gone; nothing to change.
		return reconcile.Result{}, nil
	}
	if !Serves(&svc, r.st.opts.LBClass) {
		r.checks.forget(key)
		return reconcile.Result{}, r.unserve(ctx, &svc)
	}
	r.checks.check(r.events, key, &svc)

	var (
		cond    metav1.Condition
		ips     []netip.Addr
		warning bool
	)
	cond.Type = ConditionIPAllocated
	cond.ObservedGeneration = svc.Generation
	before := r.st.alloc.Assigned(key)
	request, err := ReadRequest(&svc)
	if err == nil {
		nsLabels, nerr := r.namespaceLabels(ctx, svc.Namespace)
		if nerr != nil {
			return reconcile.Result{}, nerr
		}
		ips, err = r.st.alloc.Allocate(toIPAM(&svc, request, nsLabels))
	} else {
		var re *RequestError
		if errors.As(err, &re) {
			err = &ipam.Error{Reason: ipam.InvalidRequest, Message: fmt.Sprintf("service %s: %s", key, re.Error())}
		}
	}
	switch {
	case err == nil:
		cond.Status = metav1.ConditionTrue
		cond.Reason = ReasonAllocated
		cond.Message = r.describe(ips)
		r.st.setPending(key, false)
	default:
		var ie *ipam.Error
		if !errors.As(err, &ie) {
			return reconcile.Result{}, fmt.Errorf("allocating for service %s: %w", key, err)
		}
		warning = true
		cond.Status = metav1.ConditionFalse
		cond.Reason = string(ie.Reason)
		cond.Message = ie.Message
		// Keep what it holds (never lose a valid assignment to bad input),
		// unless an address left every pool: then it is released.
		ips = r.st.alloc.Assigned(key)
		if gone := outsidePools(r.st.alloc, ips); len(gone) > 0 {
			r.st.alloc.Release(key)
			ips = nil
			cond.Message += fmt.Sprintf(" (%s left every pool and was released)", joinAddrs(gone))
		} else if len(ips) > 0 {
			cond.Message += fmt.Sprintf(" (keeping %s until this is fixed)", joinAddrs(ips))
		}
		r.st.metrics.failed(string(ie.Reason))
		r.st.setPending(key, true)
	}
	changed := !sameAddrs(before, ips)
	if changed {
		r.st.metrics.allocations.Inc()
		r.st.refreshPools()
	}
	condChanged, announced, err := r.writeStatus(ctx, &svc, ingressFor(ips), &cond, false)
	if err != nil {
		return reconcile.Result{}, err
	}
	switch {
	case warning && condChanged:
		r.events.Eventf(&svc, nil, corev1.EventTypeWarning, cond.Reason, "Allocate", "%s", cond.Message+announcedNote(announced))
	case !warning && (changed || condChanged):
		r.events.Eventf(&svc, nil, corev1.EventTypeNormal, ReasonAllocated, "Allocate", "%s", cond.Message+announcedNote(announced))
	}
	log.FromContext(ctx).V(1).Info("reconciled", "service", key, "ips", ips, "reason", cond.Reason)
	return reconcile.Result{}, nil
}

// release frees a deleted Service's IPs and lets waiting Services try again.
func (r *ServiceReconciler) release(ctx context.Context, key string) {
	if len(r.st.alloc.Assigned(key)) == 0 {
		r.st.setPending(key, false)
		return
	}
	r.st.alloc.Release(key)
	r.st.setPending(key, false)
	r.st.refreshPools()
	log.FromContext(ctx).Info("released the IPs of a deleted service", "service", key)
	if waiting := r.st.pendingKeys(); len(waiting) > 0 {
		go r.st.requeueServices(ctx, waiting)
	}
}

// unserve handles a Service that is not (or no longer) herald's: its IPs are
// released, and herald's condition and the ingress IPs herald wrote removed.
func (r *ServiceReconciler) unserve(ctx context.Context, svc *corev1.Service) error {
	key := keyOf(svc)
	had := r.st.alloc.Assigned(key)
	if len(had) > 0 {
		r.st.alloc.Release(key)
		r.st.refreshPools()
		if waiting := r.st.pendingKeys(); len(waiting) > 0 {
			go r.st.requeueServices(ctx, waiting)
		}
	}
	r.st.setPending(key, false)
	if meta.FindStatusCondition(svc.Status.Conditions, ConditionIPAllocated) == nil && len(had) == 0 {
		return nil
	}
	// Keep ingress entries herald did not write (another controller's, for
	// another class); drop ours, and all of them when the Service is no
	// longer a LoadBalancer.
	var keep []corev1.LoadBalancerIngress
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, in := range svc.Status.LoadBalancer.Ingress {
			a, err := netip.ParseAddr(in.IP)
			if err == nil && containsAddr(had, a.Unmap()) {
				continue
			}
			keep = append(keep, in)
		}
	}
	if _, _, err := r.writeStatus(ctx, svc, keep, nil, true); err != nil {
		return err
	}
	if len(had) > 0 {
		r.events.Eventf(svc, nil, corev1.EventTypeNormal, ReasonNotServed, "Release",
			"released %s: the service is no longer a LoadBalancer of class %q", joinAddrs(had), r.st.opts.LBClass)
	}
	return nil
}

// writeStatus writes the Service's ingress and herald's condition (removing
// it when remove is set) when they differ from what is there. It reports
// whether the condition changed and, when the ingress changed, the
// Announced condition written with it (nil when none or when the
// AnnouncedReconciler does not run).
//
// That Announced condition has no event of its own: the caller's event
// about the new IPs carries it (announcedNote), so a new Service costs one
// status write and one event.
func (r *ServiceReconciler) writeStatus(ctx context.Context, svc *corev1.Service, ingress []corev1.LoadBalancerIngress, cond *metav1.Condition, remove bool) (bool, *metav1.Condition, error) {
	updated := svc.DeepCopy()
	updated.Status.LoadBalancer.Ingress = ingress
	condChanged := false
	if remove {
		condChanged = meta.RemoveStatusCondition(&updated.Status.Conditions, ConditionIPAllocated)
	} else if cond != nil {
		condChanged = meta.SetStatusCondition(&updated.Status.Conditions, *cond)
	}
	if equality.Semantic.DeepEqual(svc.Status, updated.Status) {
		return false, nil, nil
	}
	// New IPs (or none, or a Service herald no longer serves) change what
	// is announced: the Announced condition for them goes in this write
	// rather than in a second one by the AnnouncedReconciler. When this
	// write reaches the cache, that reconciler rechecks it if the cluster
	// moved since it was computed (announcer.upToDate), and corrects it.
	// The IPs do not wait on it: when it cannot be computed, the
	// AnnouncedReconciler writes it on its own.
	var announced *metav1.Condition
	if r.announce != nil && (remove || !equality.Semantic.DeepEqual(svc.Status.LoadBalancer.Ingress, updated.Status.LoadBalancer.Ingress)) {
		var err error
		epoch := r.announce.epoch.Load()
		if announced, err = r.announce.condition(ctx, updated); err != nil {
			log.FromContext(ctx).Error(err, "computing the Announced condition to write with the IPs; left to the announced reconciler", "service", keyOf(svc))
			announced = nil
		} else {
			setAnnounced(&updated.Status.Conditions, announced)
			r.announce.writing(client.ObjectKeyFromObject(svc), epoch, svc.ResourceVersion, StatusIPs(updated), announced)
		}
	}
	// An update conditioned on the cache's copy, else a patch: herald's
	// conditions never overwrite one another controller wrote meanwhile.
	if err := r.status.write(ctx, svc, updated); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil, nil // deleted meanwhile: the delete event releases it
		}
		return false, nil, fmt.Errorf("writing status of service %s: %w", keyOf(svc), err)
	}
	return condChanged, announced, nil
}

// announcedNote is what an event about new IPs adds about their
// announcement, from the Announced condition written with them.
func announcedNote(announced *metav1.Condition) string {
	switch {
	case announced == nil:
		return ""
	case announced.Status == metav1.ConditionTrue:
		return "; announced: " + announced.Message
	default:
		return "; " + announced.Message
	}
}

// namespaceLabels returns a namespace's labels from the cache, for pools'
// namespaceSelectors.
func (r *ServiceReconciler) namespaceLabels(ctx context.Context, ns string) (map[string]string, error) {
	var n corev1.Namespace
	if err := r.client.Get(ctx, client.ObjectKey{Name: ns}, &n); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("getting namespace %s: %w", ns, err)
	}
	return n.Labels, nil
}

// describe says which IPs from which pools, for the condition and the event.
func (r *ServiceReconciler) describe(ips []netip.Addr) string {
	parts := make([]string, 0, len(ips))
	for _, a := range ips {
		p, ok := r.st.alloc.PoolOf(a)
		if !ok {
			parts = append(parts, a.String())
			continue
		}
		parts = append(parts, fmt.Sprintf("%s from pool %s", a, p))
	}
	return "assigned " + strings.Join(parts, ", ")
}

// ingressFor is status.loadBalancer.ingress for these IPs: one entry per IP,
// ipMode VIP.
func ingressFor(ips []netip.Addr) []corev1.LoadBalancerIngress {
	if len(ips) == 0 {
		return nil
	}
	out := make([]corev1.LoadBalancerIngress, 0, len(ips))
	for _, a := range ips {
		mode := corev1.LoadBalancerIPModeVIP
		out = append(out, corev1.LoadBalancerIngress{IP: a.String(), IPMode: &mode})
	}
	return out
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func joinAddrs(ips []netip.Addr) string {
	s := make([]string, len(ips))
	for i, a := range ips {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// outsidePools returns the addresses no pool holds any more.
func outsidePools(a *ipam.Allocator, ips []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, ip := range ips {
		if _, ok := a.PoolOf(ip); !ok {
			out = append(out, ip)
		}
	}
	return out
}
