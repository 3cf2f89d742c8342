package l2

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/e2e/labtest"
)

// squatted4 and squatted6 are the pool addresses the client takes for
// itself.
var (
	squatted4 = netip.MustParseAddr("192.0.2.60")
	squatted6 = netip.MustParseAddr("2001:db8:200::60")
)

// serviceAt creates a single-stack LoadBalancer Service asking for ip.
func (e *env) serviceAt(t *testing.T, name string, ip netip.Addr) *corev1.Service {
	t.Helper()
	fam := corev1.IPv4Protocol
	if ip.Is6() {
		fam = corev1.IPv6Protocol
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{"heraldlb.io/loadBalancerIPs": ip.String()}},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			IPFamilies: []corev1.IPFamily{fam},
			Selector:   map[string]string{"app": name},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	if err := e.c.Create(context.Background(), svc); err != nil {
		t.Fatalf("creating Service %s: %v", name, err)
	}
	return svc
}

// conflictCondition returns "" when svc's Announced condition is False,
// reason IPConflict, naming mac; else what it is.
func (e *env) conflictCondition(svc *corev1.Service, mac string) string {
	var cur corev1.Service
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(svc), &cur); err != nil {
		return err.Error()
	}
	c := meta.FindStatusCondition(cur.Status.Conditions, controllers.ConditionAnnounced)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != controllers.ReasonIPConflict || !strings.Contains(c.Message, mac) {
		return fmt.Sprintf("condition %+v, want False/%s naming %s", c, controllers.ReasonIPConflict, mac)
	}
	return ""
}

// nodeConflicts lists the nodes whose NodeState reports ip in conflict,
// as "node/mac/announcing".
func (e *env) nodeConflicts(ip netip.Addr) ([]string, error) {
	var states v1beta1.NodeStateList
	if err := e.c.List(context.Background(), &states); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range states.Items {
		for _, c := range s.Status.IPConflicts {
			if c.IP == ip.String() {
				out = append(out, fmt.Sprintf("%s/%s/%v", s.Name, c.MAC, c.Announcing))
			}
		}
	}
	return out, nil
}

// testConflictBeforeAnnounce: the client holds the address first. The
// owner's probe is answered: no node announces it, the Service says
// IPConflict naming the client's MAC, and that holds (no flap); once the
// client lets the address go, the owner announces it.
func testConflictBeforeAnnounce(t *testing.T, e *env, squatted netip.Addr) {
	ctx := context.Background()
	t.Cleanup(func() { _ = Unsquat(ctx, e.lab, squatted) })
	mac, err := Squat(ctx, e.lab, squatted)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	svc := e.serviceAt(t, "l2-conflict-"+family(squatted), squatted)
	labtest.Eventually(t, wait, "the Service should say IPConflict naming the client's MAC "+mac, func() string { return e.conflictCondition(svc, mac) })
	t.Logf("Service created → Announced=False/IPConflict: %v", time.Since(start).Round(time.Millisecond))

	// No flap: for 5 s no NodeState lists the IP announced, one node
	// (the owner) reports the conflict, and the condition holds.
	var reporter string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		owners, err := e.l2Owners()
		if err != nil {
			t.Fatal(err)
		}
		if o := owners[squatted]; len(o) > 0 {
			t.Fatalf("%v announce %s while the client holds it", o, squatted)
		}
		cs, err := e.nodeConflicts(squatted)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || !strings.HasSuffix(cs[0], "/"+mac+"/false") || (reporter != "" && cs[0] != reporter) {
			t.Fatalf("NodeStates report the conflict as %v (before: %q), want one node naming %s, not announcing", cs, reporter, mac)
		}
		reporter = cs[0]
		if msg := e.conflictCondition(svc, mac); msg != "" {
			t.Fatal(msg)
		}
	}
	if got := e.resolve(t, squatted); len(got) != 0 {
		t.Errorf("nodes %v answer ARP/NDP for %s while the client holds it", got, squatted)
	}

	// The client lets it go: the owner probes again and announces.
	if err := Unsquat(ctx, e.lab, squatted); err != nil {
		t.Fatal(err)
	}
	node := e.waitOwner(t, svc, squatted, anyNode)
	if !strings.HasPrefix(reporter, node+"/") {
		t.Errorf("%s announces %s, but the conflict was reported by %s", node, squatted, reporter)
	}
	e.waitAnswers(t, squatted, node)
}

// testConflictWhileAnnouncing: the client takes an address a node
// answers for. The node reports it (IPConflict, announcing) and keeps
// answering — no change of owner —; once the client lets it go, the
// condition is back to True.
func testConflictWhileAnnouncing(t *testing.T, e *env, squatted netip.Addr) {
	ctx := context.Background()
	t.Cleanup(func() { _ = Unsquat(ctx, e.lab, squatted) })
	svc := e.serviceAt(t, "l2-contested-"+family(squatted), squatted)
	node := e.waitOwner(t, svc, squatted, anyNode)
	mac, err := Squat(ctx, e.lab, squatted)
	if err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, wait, "the Service should say IPConflict naming the client's MAC "+mac, func() string { return e.conflictCondition(svc, mac) })
	cs, err := e.nodeConflicts(squatted)
	if err != nil {
		t.Fatal(err)
	}
	if want := node + "/" + mac + "/true"; len(cs) != 1 || cs[0] != want {
		t.Errorf("NodeStates report %v, want [%s]", cs, want)
	}
	owners, err := e.l2Owners()
	if err != nil {
		t.Fatal(err)
	}
	if o := owners[squatted]; len(o) != 1 || o[0] != node+"/"+LANLink {
		t.Errorf("while contested, NodeStates list %v announcing %s, want %s still", o, squatted, node)
	}
	if err := Unsquat(ctx, e.lab, squatted); err != nil {
		t.Fatal(err)
	}
	if got := e.waitOwner(t, svc, squatted, anyNode); got != node {
		t.Errorf("after the conflict %s answers for %s, want %s (no change of owner)", got, squatted, node)
	}
}

// family is "v4" or "v6".
func family(ip netip.Addr) string {
	if ip.Is6() {
		return "v6"
	}
	return "v4"
}

// resolve asks the client's LAN for ip — ARP for IPv4, Neighbor
// Solicitations for IPv6 — and returns the distinct nodes answering.
func (e *env) resolve(t *testing.T, ip netip.Addr) []string {
	t.Helper()
	if ip.Is6() {
		return e.ndisc(t, ip)
	}
	return e.arping(t, ip)
}
