package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// ReadyInput is what the controller's readiness is decided from.
type ReadyInput struct {
	// LeaderElection is whether replicas elect a leader; Leader whether
	// this one is it.
	LeaderElection, Leader bool
	// Synced is whether the caches of the running controllers synced.
	Synced bool
	// Lease is the leader-election Lease as read now (nil when LeaseErr);
	// Now the time it was read.
	Lease    *coordinationv1.Lease
	LeaseErr error
	Now      time.Time
}

// Ready decides the controller's readiness: the leader (or the only
// replica, without election) is ready once its caches synced, which fails
// when it may not list or watch what it reads; a standby is ready while it
// knows another replica leads (the Lease has a holder whose renewal is
// not older than its duration).
func Ready(in ReadyInput) error {
	if !in.LeaderElection || in.Leader {
		if !in.Synced {
			return errors.New("the caches have not synced: the controller cannot read what it allocates from (look for \"forbidden\" in its log)")
		}
		return nil
	}
	if in.LeaseErr != nil {
		return fmt.Errorf("not the leader, and the leader-election Lease cannot be read: %w", in.LeaseErr)
	}
	l := in.Lease
	if l == nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return errors.New("no leader elected yet")
	}
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return fmt.Errorf("the Lease held by %s has no renew time or duration", *l.Spec.HolderIdentity)
	}
	expires := l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
	if in.Now.After(expires) {
		return fmt.Errorf("the leader %s has not renewed its Lease since %s: election in progress", *l.Spec.HolderIdentity, l.Spec.RenewTime.UTC().Format(time.RFC3339))
	}
	return nil
}

// syncTimeout bounds the wait for the caches in a readiness check.
const syncTimeout = 2 * time.Second

// ReadyCheck is the controller's /readyz check (a healthz.Checker) on mgr:
// leaderElection says whether mgr elects a leader, with the Lease
// namespace/leaseName.
func ReadyCheck(mgr manager.Manager, leaderElection bool, namespace, leaseName string) func(*http.Request) error {
	return func(req *http.Request) error {
		in := ReadyInput{LeaderElection: leaderElection, Now: time.Now()}
		select {
		case <-mgr.Elected():
			in.Leader = true
		default:
		}
		if !leaderElection || in.Leader {
			ctx, cancel := context.WithTimeout(req.Context(), syncTimeout)
			defer cancel()
			in.Synced = mgr.GetCache().WaitForCacheSync(ctx)
		} else {
			var l coordinationv1.Lease
			if in.LeaseErr = mgr.GetAPIReader().Get(req.Context(), client.ObjectKey{Namespace: namespace, Name: leaseName}, &l); in.LeaseErr == nil {
				in.Lease = &l
			}
		}
		return Ready(in)
	}
}
