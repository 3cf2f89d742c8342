package speaker

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// TestWriteStatusInterval: the first change is written at once, a change
// within StatusInterval waits for its end and is then written with what
// changed meanwhile, and the speaker's own writes are not read back first.
func TestWriteStatusInterval(t *testing.T) {
	var gets, writes int
	c := fake.NewClientBuilder().WithScheme(Scheme()).WithStatusSubresource(&v1beta1.NodeState{}).
		WithInterceptorFuncs(interceptor.Funcs{
			Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
				gets++
				return c.Get(ctx, key, obj, opts...)
			},
			SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
				writes++
				return c.SubResource(sub).Update(ctx, obj, opts...)
			},
		}).Build()
	const interval = 300 * time.Millisecond
	s, err := New(Config{Node: "node1", Reader: c, Client: c, Agent: &fakeAgent{}, StatusInterval: interval, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	generation := func(gen int64) {
		s.frr = &v1beta1.FRRConfigStatus{Generation: gen, Result: v1beta1.FRRApplied}
		s.writeStatus(ctx)
	}
	stored := func() int64 {
		t.Helper()
		var ns v1beta1.NodeState
		if err := c.Get(ctx, client.ObjectKey{Name: "node1"}, &ns); err != nil {
			t.Fatal(err)
		}
		gets--
		if ns.Status.FRR == nil {
			return 0
		}
		return ns.Status.FRR.Generation
	}

	generation(1)
	if writes != 1 || stored() != 1 {
		t.Fatalf("after the first change: %d writes, generation %d stored; want 1 write of generation 1", writes, stored())
	}
	generation(2)
	generation(3)
	if writes != 1 || s.statusDue.IsZero() {
		t.Fatalf("changes within the interval: %d writes (want 1), write due %v (want set)", writes, s.statusDue)
	}
	if wait := time.Until(s.statusDue); wait > interval || wait <= 0 {
		t.Fatalf("the held write is due in %v, want within (0, %v]", wait, interval)
	}
	time.Sleep(time.Until(s.statusDue))
	s.statusDue = time.Time{} // as Run does when the timer fires
	s.writeStatus(ctx)
	if writes != 2 || stored() != 3 {
		t.Fatalf("when the interval ended: %d writes, generation %d stored; want 2 writes, the last of generation 3", writes, stored())
	}
	if gets != 1 {
		t.Errorf("%d reads of the NodeState before writing, want 1 (only before the first write)", gets)
	}
}
