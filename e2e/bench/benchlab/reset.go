package benchlab

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// Reset deletes every herald object of namespace ns and every LoadBalancer
// Service of svcNS, and waits (up to timeout) until those Services and the
// pools are gone: deleted ones may linger a moment (finalizers).
func Reset(ctx context.Context, c client.Client, ns, svcNS string, timeout time.Duration) error {
	for _, obj := range []client.Object{&v1beta1.BGPPeer{}, &v1beta1.BGPAdvertisement{}, &v1beta1.L2Advertisement{},
		&v1beta1.Community{}, &v1beta1.BFDProfile{}, &v1beta1.IPAddressPool{}} {
		if err := c.DeleteAllOf(ctx, obj, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("resetting %T: %w", obj, err)
		}
	}
	lbs := func() ([]corev1.Service, error) {
		var svcs corev1.ServiceList
		if err := c.List(ctx, &svcs, client.InNamespace(svcNS)); err != nil {
			return nil, err
		}
		var out []corev1.Service
		for _, s := range svcs.Items {
			if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
				out = append(out, s)
			}
		}
		return out, nil
	}
	svcs, err := lbs()
	if err != nil {
		return err
	}
	for i := range svcs {
		if err := c.Delete(ctx, &svcs[i]); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		left, err := lbs()
		if err != nil {
			return err
		}
		var pools v1beta1.IPAddressPoolList
		if err := c.List(ctx, &pools, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(left) == 0 && len(pools.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for the old Services and pools to go: %d Services and %d pools left after %s", len(left), len(pools.Items), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
