package controllers

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
)

// TestAnnouncerUpToDate: the AnnouncedReconciler skips its recheck of the
// Service reconciler's write only when the cache shows what was written
// and nothing changed since the condition was computed; the note of the
// write outlives the copy it was made over, and no more.
func TestAnnouncerUpToDate(t *testing.T) {
	key := types.NamespacedName{Namespace: "web", Name: "shop"}
	ip := netip.MustParseAddr("192.0.2.10")
	cond := &metav1.Condition{Type: ConditionAnnounced, Status: metav1.ConditionFalse, Reason: ReasonPending, Message: "192.0.2.10: not announced"}
	// copyOf is the Service as the cache shows it.
	copyOf := func(rv string, ips []string, c *metav1.Condition) *corev1.Service {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, ResourceVersion: rv},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
		for _, a := range ips {
			svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: a})
		}
		if c != nil {
			svc.Status.Conditions = []metav1.Condition{*c}
		}
		return svc
	}
	before := copyOf("10", nil, nil)
	written := copyOf("11", []string{"192.0.2.10"}, cond)
	other := cond.DeepCopy()
	other.Reason, other.Status, other.Message = ReasonAnnounced, metav1.ConditionTrue, "192.0.2.10: BGP from node1"
	for _, tc := range []struct {
		name string
		// seen are the copies the AnnouncedReconciler sees, in order;
		// change moves the epoch before the first.
		seen   []*corev1.Service
		change bool
		want   []bool
	}{
		{name: "the write itself", seen: []*corev1.Service{written, written}, want: []bool{true, false}},
		{name: "a copy from before, then the write", seen: []*corev1.Service{before, written}, want: []bool{false, true}},
		{name: "the cluster changed meanwhile", seen: []*corev1.Service{written, written}, change: true, want: []bool{false, false}},
		{name: "another condition since", seen: []*corev1.Service{copyOf("12", []string{"192.0.2.10"}, other), written}, want: []bool{false, false}},
		{name: "other IPs since", seen: []*corev1.Service{copyOf("12", []string{"192.0.2.11"}, cond), written}, want: []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &announcer{written: map[types.NamespacedName]writtenCondition{}}
			a.changed()
			a.writing(key, a.epoch.Load(), "10", []netip.Addr{ip}, cond)
			if tc.change {
				a.changed()
			}
			for i, svc := range tc.seen {
				if got := a.upToDate(key, svc); got != tc.want[i] {
					t.Errorf("copy #%d: upToDate = %v, want %v", i, got, tc.want[i])
				}
			}
		})
	}
	a := &announcer{written: map[types.NamespacedName]writtenCondition{}}
	a.writing(key, 0, "10", []netip.Addr{ip}, cond)
	a.forget(key)
	if a.upToDate(key, written) {
		t.Error("upToDate after forget = true")
	}
	if len(a.written) != 0 {
		t.Errorf("%d notes left after forget", len(a.written))
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
