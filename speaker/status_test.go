package speaker

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/speaker/l2"
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

// conflictL2 is a fakeL2 that reports conflicts and says when they change,
// as *l2.Node does.
type conflictL2 struct {
	fakeL2
	cmu     sync.Mutex
	cs      []l2.Conflict
	changed chan struct{}
}

func (f *conflictL2) Conflicts() []l2.Conflict {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	return f.cs
}

func (f *conflictL2) ConflictsChanged() <-chan struct{} { return f.changed }

func (f *conflictL2) setConflicts(cs []l2.Conflict) {
	f.cmu.Lock()
	f.cs = cs
	f.cmu.Unlock()
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

var squat = l2.Conflict{IP: netip.MustParseAddr("192.0.2.60"), Interface: "eth1", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x64}}

// TestWriteStatusConflictSooner: a change of the IP conflicts held back by
// StatusInterval is due after ConflictStatusInterval instead, and brings
// forward a write already held for another change.
func TestWriteStatusConflictSooner(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(Scheme()).WithStatusSubresource(&v1beta1.NodeState{}).Build()
	const conflictInterval = 300 * time.Millisecond
	fl2 := &conflictL2{fakeL2: fakeL2{node: "node1"}, changed: make(chan struct{}, 1)}
	s, err := New(Config{Node: "node1", Reader: c, Client: c, L2: fl2, StatusInterval: time.Hour, ConflictStatusInterval: conflictInterval, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.writeStatus(ctx)
	if s.written == nil {
		t.Fatal("the first status was not written")
	}
	s.frr = &v1beta1.FRRConfigStatus{Generation: 1, Result: v1beta1.FRRApplied}
	s.writeStatus(ctx)
	if wait := time.Until(s.statusDue); wait <= conflictInterval {
		t.Fatalf("a change that is no conflict is due in %v, want the StatusInterval (1h)", wait)
	}
	fl2.setConflicts([]l2.Conflict{squat})
	s.writeStatus(ctx)
	if wait := time.Until(s.statusDue); wait > conflictInterval || wait <= 0 {
		t.Fatalf("a new conflict is due in %v, want within (0, %v]", wait, conflictInterval)
	}
	time.Sleep(time.Until(s.statusDue))
	s.statusDue = time.Time{}
	s.writeStatus(ctx)
	var ns v1beta1.NodeState
	if err := c.Get(ctx, client.ObjectKey{Name: "node1"}, &ns); err != nil {
		t.Fatal(err)
	}
	if len(ns.Status.IPConflicts) != 1 || ns.Status.FRR == nil {
		t.Errorf("written status %+v, want the conflict and the FRR generation held before", ns.Status)
	}
}

// TestConflictWrittenAtOnce: a speaker whose L2 looks and writes once an
// hour still writes a conflict when the L2 says its conflicts changed, and
// again when it clears.
func TestConflictWrittenAtOnce(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(Scheme()).WithStatusSubresource(&v1beta1.NodeState{}).Build()
	fl2 := &conflictL2{fakeL2: fakeL2{node: "node1"}, changed: make(chan struct{}, 1)}
	s, err := New(Config{Node: "node1", Reader: c, Client: c, L2: fl2, L2Interval: time.Hour, StatusInterval: time.Hour,
		ConflictStatusInterval: 50 * time.Millisecond, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	conflicts := func() int {
		var ns v1beta1.NodeState
		if err := c.Get(context.Background(), client.ObjectKey{Name: "node1"}, &ns); err != nil {
			return -1
		}
		return len(ns.Status.IPConflicts)
	}
	eventually(t, "the first NodeState", func() bool { return conflicts() == 0 })
	fl2.setConflicts([]l2.Conflict{squat})
	eventually(t, "the conflict in the NodeState", func() bool { return conflicts() == 1 })
	fl2.setConflicts(nil)
	eventually(t, "the conflict gone from the NodeState", func() bool { return conflicts() == 0 })
}

// TestAnnouncementsFollowState: the NodeState's BGP announcements, built
// once per read of FRR's state, follow each new read, in the status the
// speaker writes and in the API server's copy.
func TestAnnouncementsFollowState(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(Scheme()).WithStatusSubresource(&v1beta1.NodeState{}).Build()
	s, err := New(Config{Node: "node1", Reader: c, Client: c, Agent: &fakeAgent{}, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := func(prefixes ...string) {
		adv := Advertised{Peer: "198.51.100.1"}
		for _, p := range prefixes {
			adv.Prefixes = append(adv.Prefixes, netip.MustParsePrefix(p))
		}
		s.gotState(AgentState{Advertised: []Advertised{adv}})
		s.wroteAt = time.Time{} // no StatusInterval between the writes
		s.writeStatus(ctx)
	}
	check := func(want ...string) {
		t.Helper()
		var ns v1beta1.NodeState
		if err := c.Get(ctx, client.ObjectKey{Name: "node1"}, &ns); err != nil {
			t.Fatal(err)
		}
		for what, st := range map[string]*v1beta1.NodeStateStatus{"written": s.written, "stored": &ns.Status} {
			var got []string
			for _, a := range st.BGPAnnouncements {
				got = append(got, a.Prefixes...)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s announcements (-want +got):\n%s", what, diff)
			}
		}
	}
	read("192.0.2.1/32", "192.0.2.2/32")
	check("192.0.2.1/32", "192.0.2.2/32")
	s.writeStatus(ctx) // no new read: the same list
	check("192.0.2.1/32", "192.0.2.2/32")
	read("192.0.2.2/32", "192.0.2.3/32")
	check("192.0.2.2/32", "192.0.2.3/32")
	read()
	check()
}
