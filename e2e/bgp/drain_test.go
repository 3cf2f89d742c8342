package bgp

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
)

// pathSeen is what a poll of the router's BGP table saw of one node's path.
type pathSeen struct {
	at      time.Time
	present bool
	gshut   bool // carries 65535:0 (FRR's JSON: "gracefulShutdown")
	locPrf  uint32
	comms   []string
}

// pollPath reads the router's BGP paths to ip as fast as vtysh answers,
// recording node's path, until ctx ends.
func (e *env) pollPath(ctx context.Context, ip, nodeAddr string) func() []pathSeen {
	var mu sync.Mutex
	var seen []pathSeen
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			paths, err := e.paths(lab.RouterName, ip)
			if err != nil {
				continue
			}
			s := pathSeen{at: time.Now()}
			for _, p := range paths {
				if p.Peer.PeerID != nodeAddr {
					continue
				}
				s.present = true
				if p.Community != nil {
					s.comms = p.Community.List
					s.gshut = slices.Contains(p.Community.List, "gracefulShutdown") || slices.Contains(p.Community.List, "65535:0")
				}
				if p.LocPrf != nil {
					s.locPrf = *p.LocPrf
				}
			}
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
		}
	}()
	return func() []pathSeen {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// testDrain: cordoning node1 first sends its path with the graceful-shutdown
// community, which the router ranks last (local-preference 0), so the best
// paths leave node1 while it still has a path, then node1 withdraws; the
// router has a path to the Service at every 10 ms sample. NodeState and an
// event say so with each step's time. Uncordoning brings node1 back, the
// other nodes' paths untouched.
func testDrain(t *testing.T, e *env) {
	_, ip := e.service(t, "e2e-drain", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	all := e.allNodes()
	e.waitHops(t, ip, all...)
	node1 := e.nodeAddrs(t, "node1")[0]
	others := e.nodeAddrs(t, "node2", "node3")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Cleanup(func() { _ = e.lab.Cordon(context.Background(), "node1", false) })

	fib, err := e.lab.SampleRoute(ctx, lab.RouterName, ip, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	pollCtx, stopPoll := context.WithCancel(ctx)
	polled := e.pollPath(pollCtx, ip, node1)
	start := time.Now()
	if err := e.lab.Cordon(ctx, "node1", true); err != nil {
		t.Fatal(err)
	}
	e.waitHops(t, ip, "node2", "node3")
	labtest.Eventually(t, wait, "the router should hold no path from node1 to "+ip, func() string {
		paths, err := e.paths(lab.RouterName, ip)
		if err != nil {
			return err.Error()
		}
		for _, p := range paths {
			if p.Peer.PeerID == node1 {
				return "node1's path is still there"
			}
		}
		return ""
	})
	stopPoll()
	seen := polled()
	samples := fib.Stop()
	if err := fib.Err(); err != nil {
		t.Error(err)
	}
	t.Logf("drain: %d FIB samples, %d BGP polls over %s", len(samples), len(seen), time.Since(start).Round(time.Millisecond))

	// The graceful-shutdown community (and local-preference 0) on node1's
	// path, seen before the path went.
	var gshutAt, goneAt time.Time
	for _, s := range seen {
		if s.present && s.gshut && s.locPrf == 0 && gshutAt.IsZero() {
			gshutAt = s.at
		}
		if !s.present && !gshutAt.IsZero() && goneAt.IsZero() {
			goneAt = s.at
		}
	}
	if gshutAt.IsZero() {
		for _, s := range seen {
			t.Logf("poll at %s: present %t communities %v local-pref %d", s.at.Sub(start).Round(time.Millisecond), s.present, s.comms, s.locPrf)
		}
		t.Errorf("the router never saw node1's path with the graceful-shutdown community and local-preference 0 before it was withdrawn (%d polls)", len(seen))
	} else {
		t.Logf("graceful-shutdown seen on node1's path %s after the cordon; path withdrawn %s later",
			gshutAt.Sub(start).Round(time.Millisecond), goneAt.Sub(gshutAt).Round(time.Millisecond))
	}
	checkSamples(t, "drain", samples, others)

	// NodeState and the Node's event tell the drain and its steps.
	labtest.Eventually(t, wait, "NodeState node1 should say Drained with its steps", func() string {
		var st v1beta1.NodeState
		if err := e.c.Get(ctx, client.ObjectKey{Name: "node1"}, &st); err != nil {
			return err.Error()
		}
		d := st.Status.Drain
		if d == nil || d.Phase != v1beta1.DrainPhaseDrained || d.Reason != "it is cordoned" {
			return fmt.Sprintf("drain status %+v", d)
		}
		var names []string
		for _, s := range d.Steps {
			names = append(names, s.Name)
		}
		for _, want := range []string{v1beta1.DrainStepGracefulShutdown, v1beta1.DrainStepWait, v1beta1.DrainStepWithdraw} {
			if !slices.Contains(names, want) {
				return fmt.Sprintf("steps %+v lack %s", d.Steps, want)
			}
		}
		t.Logf("NodeState node1 drain: %+v", d.Steps)
		return ""
	})
	labtest.Eventually(t, wait, "node1 should have a Drained event", func() string {
		var evs corev1.EventList
		if err := e.c.List(ctx, &evs, client.InNamespace("default")); err != nil {
			return err.Error()
		}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Kind == "Node" && ev.InvolvedObject.Name == "node1" && ev.Reason == "Drained" && ev.LastTimestamp.After(start.Add(-time.Second)) {
				t.Logf("event: %s", ev.Message)
				return ""
			}
		}
		return "no Drained event on node1 yet"
	})

	// Uncordon: node1 back, node2 and node3 never leave.
	fib, err = e.lab.SampleRoute(ctx, lab.RouterName, ip, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.lab.Cordon(ctx, "node1", false); err != nil {
		t.Fatal(err)
	}
	e.waitHops(t, ip, all...)
	checkSamples(t, "uncordon", fib.Stop(), others)
	if err := fib.Err(); err != nil {
		t.Error(err)
	}
	labtest.Eventually(t, wait, "NodeState node1 should no longer report a drain", func() string {
		var st v1beta1.NodeState
		if err := e.c.Get(ctx, client.ObjectKey{Name: "node1"}, &st); err != nil {
			return err.Error()
		}
		if st.Status.Drain != nil {
			return fmt.Sprintf("drain status %+v", st.Status.Drain)
		}
		return ""
	})
}

// checkSamples fails unless every sample has a route to the Service and
// every one of others among its next hops (a drain of one node moves no
// traffic off the others).
func checkSamples(t *testing.T, what string, samples []lab.RouteSample, others []string) {
	t.Helper()
	if len(samples) == 0 {
		t.Errorf("%s: no FIB sample taken", what)
		return
	}
	bad := 0
	for _, s := range samples {
		missing := false
		for _, o := range others {
			if !slices.Contains(s.Hops, o) {
				missing = true
			}
		}
		if len(s.Hops) == 0 || missing {
			if bad < 5 {
				t.Errorf("%s: at %s the router's route has next hops %v, want at least %v", what, s.At.Format("15:04:05.000"), s.Hops, others)
			}
			bad++
		}
	}
	var gaps []time.Duration
	for i := 1; i < len(samples); i++ {
		gaps = append(gaps, samples[i].At.Sub(samples[i-1].At))
	}
	slices.Sort(gaps)
	t.Logf("%s: %d samples, %d without a path or without another node; sample interval p50 %s max %s",
		what, len(samples), bad, gaps[len(gaps)/2].Round(time.Millisecond), gaps[len(gaps)-1].Round(time.Millisecond))
}
