package bgp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/speaker/health"
)

// Health check settings of testHealth: node2 should be gated after about
// interval × fall and ungated after about interval × rise.
const (
	healthInterval = 500 * time.Millisecond
	healthFall     = 3
	healthRise     = 2
)

// testHealth: a Cluster Service with an HTTP health check and a pod on
// each node. node2's pod answers 503 (still a ready endpoint): the router
// loses node2's path, node1's and node3's stay, node2's NodeState names
// the Service with the 503; healthy again, node2's path comes back. Then
// every pod fails: every node is gated, none withdraws (fail-open) and
// the NodeStates say they announce all the same. The times from the change
// to the router's table are printed.
func testHealth(t *testing.T, e *env) {
	svc, ip := e.service(t, "e2e-health", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	ctx := context.Background()
	patch := client.MergeFrom(svc.DeepCopy())
	svc.Annotations[health.AnnotationCheck] = "http:8080/healthz"
	svc.Annotations[health.AnnotationInterval] = healthInterval.String()
	svc.Annotations[health.AnnotationFall] = fmt.Sprint(healthFall)
	svc.Annotations[health.AnnotationRise] = fmt.Sprint(healthRise)
	if err := e.c.Patch(ctx, svc, patch); err != nil {
		t.Fatalf("annotating Service e2e-health: %v", err)
	}
	pods := map[string]*lab.Pod{}
	for _, n := range e.allNodes() {
		p, err := e.lab.StartPod(ctx, lab.PodSpec{Name: "health-" + n, Node: n, Service: svcNS + "/e2e-health"})
		if err != nil {
			t.Fatalf("starting a pod on %s: %v", n, err)
		}
		pods[n] = p
		t.Cleanup(func() { _ = e.lab.StopPod(context.Background(), p.Spec.Name) })
	}
	all := e.allNodes()
	e.waitHops(t, ip, all...)
	key := svcNS + "/e2e-health"

	// node2 breaks.
	start := time.Now()
	pods["node2"].SetHealthy(false)
	withdrawn := e.hopsAfter(t, ip, start, e.nodeAddrs(t, "node1", "node3"), e.nodeAddrs(t, "node1", "node3"))
	e.waitGated(t, "node2", key, true, "status 503", false)
	// node2 recovers.
	start = time.Now()
	pods["node2"].SetHealthy(true)
	back := e.hopsAfter(t, ip, start, e.nodeAddrs(t, all...), e.nodeAddrs(t, "node1", "node3"))
	e.waitGated(t, "node2", key, false, "", false)
	t.Logf("health check %s every %s, fall %d, rise %d: node2's path withdrawn at the router %.2fs after its pod failed (interval × fall = %s), back %.2fs after it recovered (interval × rise = %s); node1's and node3's paths present at every poll",
		"http:8080/healthz", healthInterval, healthFall, healthRise, withdrawn.Seconds(), healthInterval*healthFall, back.Seconds(), healthInterval*healthRise)

	// Every node breaks: fail-open.
	for _, p := range pods {
		p.SetHealthy(false)
	}
	for _, n := range all {
		e.waitGated(t, n, key, true, "status 503", true)
	}
	e.waitHops(t, ip, all...)
	t.Logf("every node gated: each NodeState lists %s with announcing=true and the router keeps %d paths (fail-open)", key, len(all))
	for _, p := range pods {
		p.SetHealthy(true)
	}
	for _, n := range all {
		e.waitGated(t, n, key, false, "", false)
	}
}

// hopsAfter waits until the router's next hops for ip are want, checking
// at every poll that the hops in keep are among them, and returns the time
// from start.
func (e *env) hopsAfter(t *testing.T, ip string, start time.Time, want, keep []string) time.Duration {
	t.Helper()
	deadline := start.Add(wait)
	polls := 0
	for time.Now().Before(deadline) {
		got, err := e.nextHops(ip)
		if err != nil {
			continue
		}
		polls++
		for _, k := range keep {
			if !slices.Contains(got, k) {
				t.Fatalf("poll %d, %s after the change: the router's next hops for %s are %v, without %s", polls, time.Since(start), ip, got, k)
			}
		}
		if slices.Equal(got, want) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the router's next hops for %s never became %v", ip, want)
	return 0
}

// waitGated waits until node's NodeState lists svc as gated (with a reason
// holding reason, and announcing as given) or does not list it.
func (e *env) waitGated(t *testing.T, node, svc string, gated bool, reason string, announcing bool) {
	t.Helper()
	labtest.Eventually(t, wait, fmt.Sprintf("NodeState %s should list %s as gated=%v announcing=%v", node, svc, gated, announcing), func() string {
		var st v1beta1.NodeState
		if err := e.c.Get(context.Background(), client.ObjectKey{Name: node}, &st); err != nil {
			return err.Error()
		}
		i := slices.IndexFunc(st.Status.HealthGated, func(g v1beta1.HealthGate) bool { return g.Service == svc })
		switch {
		case !gated && i < 0:
			return ""
		case !gated:
			return fmt.Sprintf("it lists %+v", st.Status.HealthGated[i])
		case i < 0:
			return fmt.Sprintf("healthGated is %+v", st.Status.HealthGated)
		}
		g := st.Status.HealthGated[i]
		if !strings.Contains(g.Reason, reason) || g.Announcing != announcing || g.Since.IsZero() {
			return fmt.Sprintf("it lists %+v", g)
		}
		return ""
	})
}
