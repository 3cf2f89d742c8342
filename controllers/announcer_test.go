package controllers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
)

// TestAnnouncerUpToDate: the AnnouncedReconciler skips its recheck of the
// Service reconciler's write only when the cache shows that very write and
// nothing changed since the condition was computed; the note of the write
// outlives a copy from before it, and no more.
func TestAnnouncerUpToDate(t *testing.T) {
	key := types.NamespacedName{Namespace: "web", Name: "shop"}
	for _, tc := range []struct {
		name string
		// seen are the resourceVersions the AnnouncedReconciler sees, in
		// order; change moves the epoch before the first.
		seen   []string
		change bool
		want   []bool
	}{
		{name: "the write itself", seen: []string{"11", "11"}, want: []bool{true, false}},
		{name: "a copy from before, then the write", seen: []string{"10", "11"}, want: []bool{false, true}},
		{name: "the cluster changed meanwhile", seen: []string{"11"}, change: true, want: []bool{false}},
		{name: "another write after it", seen: []string{"12", "11"}, want: []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &announcer{written: map[types.NamespacedName]writtenCondition{}}
			a.changed()
			a.wrote(key, a.epoch.Load(), "10", "11")
			if tc.change {
				a.changed()
			}
			for i, rv := range tc.seen {
				if got := a.upToDate(key, rv); got != tc.want[i] {
					t.Errorf("seen at %s (#%d): upToDate = %v, want %v", rv, i, got, tc.want[i])
				}
			}
		})
	}
	a := &announcer{written: map[types.NamespacedName]writtenCondition{}}
	a.wrote(key, 0, "10", "11")
	a.forget(key)
	if a.upToDate(key, "11") {
		t.Error("upToDate after forget = true")
	}
}

// countingReader counts List calls of a real client.
type countingReader struct {
	client.Reader
	lists atomic.Int64
}

func (c *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.lists.Add(1)
	return c.Reader.List(ctx, list, opts...)
}

// TestAnnouncerView: the view of the cluster is listed once per epoch and
// shared by the conditions computed meanwhile; a change lists it anew.
func TestAnnouncerView(t *testing.T) {
	_, c := apitest.Start(t)
	ctx := context.Background()
	apitest.Namespace(t, c, testNS)
	r := &countingReader{Reader: c}
	// An hour: the test is about epochs, not about time.
	a := &announcer{client: r, api: c, namespace: testNS, maxAge: time.Hour, written: map[types.NamespacedName]writtenCondition{}}
	pool := func(name string) *v1beta1.IPAddressPool {
		return &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/28"}}}
	}
	if err := c.Create(ctx, pool("first")); err != nil {
		t.Fatal(err)
	}
	v1, err := a.currentView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := r.lists.Load()
	if listed == 0 || len(v1.Pools) != 1 {
		t.Fatalf("first view: %d lists, pools %d, want some lists and 1 pool", listed, len(v1.Pools))
	}
	if err := c.Create(ctx, pool("second")); err != nil {
		t.Fatal(err)
	}
	v2, err := a.currentView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.lists.Load() != listed || len(v2.Pools) != 1 {
		t.Errorf("same epoch: %d more lists and %d pools, want the first view again", r.lists.Load()-listed, len(v2.Pools))
	}
	a.changed()
	v3, err := a.currentView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.lists.Load() != 2*listed || len(v3.Pools) != 2 {
		t.Errorf("after a change: %d more lists and %d pools, want %d and 2", r.lists.Load()-listed, len(v3.Pools), listed)
	}
}
