package labtest

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Eventually calls f every 200 ms until it returns "" and fails t with f's
// last answer after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if last = f(); last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %s: %s", timeout, what, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Apply creates obj or updates the existing object to obj's spec.
func Apply(t testing.TB, c client.Client, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	cur := obj.DeepCopyObject().(client.Object)
	err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur)
	switch {
	case apierrors.IsNotFound(err):
		err = c.Create(ctx, obj)
	case err == nil:
		obj.SetResourceVersion(cur.GetResourceVersion())
		err = c.Update(ctx, obj)
	}
	if err != nil {
		t.Fatalf("applying %T %s: %v", obj, obj.GetName(), err)
	}
}

// Remove deletes obj, absent or not.
func Remove(t testing.TB, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting %T %s: %v", obj, obj.GetName(), err)
	}
}
