package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// newManager creates the manager, waiting for the API server when it
// cannot be reached: manager.New asks it for the REST mappings of the
// cached types, and a process that exited there, started while the API
// server is away (after the controller lost its Lease to an outage, or a
// node reboot), was restarted with a longer backoff each time (the
// kubelet's 10 s, 20 s, 40 s, ...): e2e/reliability's TestFaults saw the
// controller lead 79 s after a 60 s outage ended. It tries again after
// first, doubling to 5 s (a refused dial is cheap; a longer wait only
// delays the start after the return), until ctx ends; any other error
// returns at once.
func newManager(ctx context.Context, cfg *rest.Config, opts manager.Options, first time.Duration, log logr.Logger) (manager.Manager, error) {
	for wait := first; ; wait = min(2*wait, 5*time.Second) {
		mgr, err := manager.New(cfg, opts)
		if err == nil {
			return mgr, nil
		}
		if !unreachable(err) {
			return nil, fmt.Errorf("creating the manager: %w", err)
		}
		log.Error(err, "the API server cannot be reached, or does not serve herald's CRDs yet (are they installed?); trying again", "host", cfg.Host, "in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("creating the manager: stopped while waiting for the API server %s: %w", cfg.Host, err)
		case <-time.After(wait):
		}
	}
}

// unreachable tells whether err says the API server could not be reached,
// could not answer yet, or does not serve herald's kinds yet (an API server
// that has just started serves its CRDs' groups a moment after the rest;
// the CRDs not installed at all looks the same, and is said in the log), as
// opposed to a fault of herald's own settings.
func unreachable(err error) bool {
	var ne net.Error // *url.Error is one too
	var gd *discovery.ErrGroupDiscoveryFailed
	return errors.As(err, &ne) || errors.As(err, &gd) || meta.IsNoMatchError(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
}
