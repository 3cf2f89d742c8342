package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/verdict"
	"github.com/heraldlb/herald/ipam"
)

// ConditionPoolAccepted is the IPAddressPool condition: True when the
// allocator uses the pool as written, False (reason InvalidPool) with what
// to fix when it rejects it — overlapping another pool, no usable address,
// a bad selector. A rejected edit leaves the pool's last accepted definition
// in use.
const ConditionPoolAccepted = "Accepted"

// poolStatusInterval bounds how often pool status is rewritten when only the
// counts moved (many Services allocated at once).
const poolStatusInterval = time.Second

// poolsRequestName is the request of every pool change: the pool set is
// validated as a whole (overlaps are between pools).
const poolsRequestName = "ipaddresspools"

// poolsRefreshName is the request asking for fresh pool status after
// allocations moved the counts. Apart from the pool changes' request, it
// waits out poolStatusInterval before anything else, so that thousands of
// allocations do not each cost a list of the pools from the API server.
const poolsRefreshName = "ipaddresspools-refresh"

// poolsKey maps every event to the single pool-set request.
func poolsKey(ns string) handler.MapFunc {
	return func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: poolsRequestName}}}
	}
}

// poolTrigger is the object carried by the events asking for a pool status
// refresh; it is enqueued as the poolsRefreshName request.
func poolTrigger(ns string) client.Object {
	return &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: poolsRefreshName}}
}

// PoolReconciler feeds the allocator the pool set and keeps the pools'
// status: acceptance and assigned/available per family.
type PoolReconciler struct {
	client client.Client
	events events.EventRecorder
	st     *state

	mu         sync.Mutex
	lastStatus time.Time
}

// Reconcile applies the pool set to the allocator and writes pool status.
func (r *PoolReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if err := r.st.restore(ctx); err != nil {
		return reconcile.Result{}, err
	}
	if req.Name == poolsRefreshName {
		r.mu.Lock()
		wait := poolStatusInterval - time.Since(r.lastStatus)
		r.mu.Unlock()
		if wait > 0 {
			return reconcile.Result{RequeueAfter: wait}, nil
		}
	}
	// The pool set comes from the API server: a pool missing from a lagging
	// cache would look deleted and move its Services' IPs.
	pools, err := listPools(ctx, r.st.reader, r.st.opts.Namespace)
	if err != nil {
		return reconcile.Result{}, err
	}
	changed, errs := r.st.applyPools(ctx, pools)

	r.mu.Lock()
	wait := poolStatusInterval - time.Since(r.lastStatus)
	if !changed && wait > 0 {
		r.mu.Unlock()
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	r.lastStatus = time.Now()
	r.mu.Unlock()

	stats := r.st.alloc.Stats()
	var figures []poolFamilyStats
	for i := range pools {
		p := &pools[i]
		s, ok := stats[p.Name]
		if ok {
			figures = append(figures, familyFigures(p.Name, s)...)
		}
		if err := r.writeStatus(ctx, p, s, ok, errs[p.Name]); err != nil {
			return reconcile.Result{}, err
		}
	}
	r.st.metrics.setPools(figures)
	return reconcile.Result{}, nil
}

// writeStatus patches one pool's status when it changed, with an event when
// the pool becomes rejected or accepted.
func (r *PoolReconciler) writeStatus(ctx context.Context, p *v1beta1.IPAddressPool, s ipam.PoolStats, known bool, perr error) error {
	updated := p.DeepCopy()
	cond := metav1.Condition{Type: ConditionPoolAccepted, ObservedGeneration: p.Generation}
	if perr == nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "Accepted", "the pool is in use"
	} else {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, string(ipam.InvalidPool), perr.Error()
		var rej rejectionError
		if errors.As(perr, &rej) {
			cond.Reason = rej.r.Reason
			cond.Message = fmt.Sprintf("pool %q: %s: %s (this pool is not used until this is fixed)", p.Name, rej.r.Field, rej.r.Message)
		}
		if known {
			cond.Message += " (its last accepted definition stays in use)"
		}
	}
	condChanged := meta.SetStatusCondition(&updated.Status.Conditions, cond)
	if known {
		var c v1beta1.PoolCounts
		if has(s.IPv4) {
			c.AssignedIPv4, c.AvailableIPv4 = s.IPv4.Assigned, s.IPv4.Available
		}
		if has(s.IPv6) {
			c.AssignedIPv6, c.AvailableIPv6 = s.IPv6.Assigned, s.IPv6.Available
		}
		updated.Status.SetCounts(c)
	}
	if equality.Semantic.DeepEqual(p.Status, updated.Status) {
		return nil
	}
	if err := r.client.Status().Patch(ctx, updated, client.MergeFrom(p)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patching status of ipaddresspool %s/%s: %w", p.Namespace, p.Name, err)
	}
	if condChanged {
		if perr != nil {
			r.events.Eventf(p, nil, corev1.EventTypeWarning, cond.Reason, "Validate", "%s", cond.Message)
		} else {
			r.events.Eventf(p, nil, corev1.EventTypeNormal, "Accepted", "Validate", "pool %s is in use", p.Name)
		}
	}
	return nil
}

// rejectionError carries a verdict's rejection of a pool as an error.
type rejectionError struct{ r verdict.Rejection }

func (e rejectionError) Error() string { return e.r.Message }

func has(f ipam.FamilyStats) bool { return f.Total != nil && f.Total.Sign() > 0 }

// familyFigures turns a pool's stats into metric values.
func familyFigures(pool string, s ipam.PoolStats) []poolFamilyStats {
	var out []poolFamilyStats
	f := func(b *big.Int) float64 {
		if b == nil {
			return 0
		}
		v, _ := new(big.Float).SetInt(b).Float64()
		return v
	}
	for _, fam := range []struct {
		name string
		s    ipam.FamilyStats
	}{{"IPv4", s.IPv4}, {"IPv6", s.IPv6}} {
		if has(fam.s) {
			out = append(out, poolFamilyStats{pool: pool, family: fam.name, total: f(fam.s.Total), inUse: f(fam.s.Assigned), available: f(fam.s.Available)})
		}
	}
	return out
}

// listPools lists herald's pools, sorted by name.
func listPools(ctx context.Context, c client.Reader, ns string) ([]v1beta1.IPAddressPool, error) {
	var list v1beta1.IPAddressPoolList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing ipaddresspools in %s: %w", ns, err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// applyPools gives the allocator the pool set when it changed since the
// last call, asks the Service reconciler to look again at the Services whose
// IPs left every pool and at those waiting for an IP, and returns the
// per-pool errors.
func (s *state) applyPools(ctx context.Context, pools []v1beta1.IPAddressPool) (bool, map[string]error) {
	var converted []ipam.Pool
	errs := map[string]error{}
	var sig strings.Builder
	// The verdict shared with the speakers: a pool overlapping an older
	// one is left out here too, so it never takes the older pool's
	// addresses (the speakers then announce them as before).
	v := verdict.DecidePools(pools)
	s.mu.Lock()
	if s.lastGoodPools == nil {
		s.lastGoodPools = map[string]ipam.Pool{}
	}
	good := make(map[string]ipam.Pool, len(pools))
	for i := range pools {
		if rej, ok := v.Rejected[pools[i].Name]; ok && rej.Reason == verdict.ReasonOverlappingPool {
			errs[pools[i].Name] = rejectionError{rej}
			fmt.Fprintf(&sig, "%s/%d/%s/%s;", pools[i].Name, pools[i].Generation, pools[i].UID, rej.InEffect)
			continue
		}
		p, err := verdict.IPAMPool(&pools[i])
		if err != nil {
			errs[pools[i].Name] = err
			// A pool edited into something unusable keeps serving its last
			// good definition, so its Services keep their IPs until the
			// operator fixes the selector.
			if last, ok := s.lastGoodPools[pools[i].Name]; ok {
				converted = append(converted, last)
				good[pools[i].Name] = last
			}
			continue
		}
		converted = append(converted, p)
		good[p.Name] = p
		fmt.Fprintf(&sig, "%s/%d/%s;", pools[i].Name, pools[i].Generation, pools[i].UID)
	}
	s.lastGoodPools = good
	s.mu.Unlock()
	for name, err := range errs {
		fmt.Fprintf(&sig, "!%s:%s;", name, err)
	}
	s.mu.Lock()
	if sig.String() == s.poolsSig && s.poolsErrs != nil {
		errs := s.poolsErrs
		s.mu.Unlock()
		return false, errs
	}
	s.mu.Unlock()

	res := s.alloc.SetPools(converted)
	for name, e := range res.Errors {
		errs[name] = e
	}
	s.mu.Lock()
	s.poolsSig, s.poolsErrs = sig.String(), errs
	s.mu.Unlock()
	if len(res.Errors) > 0 || len(errs) > 0 {
		log.FromContext(ctx).Info("some pools are rejected", "errors", len(errs))
	}
	again := append(res.Stale, s.pendingKeys()...)
	if len(again) > 0 {
		go s.requeueServices(ctx, again)
	}
	return true, errs
}
