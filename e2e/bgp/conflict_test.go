package bgp

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/e2e/labtest"
)

// testHostConflict: a Service IP put on one node's loopback by something
// other than herald (an operator's mistake) is not announced from that
// node — the router's route leaves it, its FRR config loses the network —
// and the Service says IPConflict, mode BGP, naming the node and the
// interface; the address removed, the node announces the IP again and
// the condition is True.
func testHostConflict(t *testing.T, e *env) {
	ctx := context.Background()
	svc, ip := e.service(t, "e2e-host-conflict", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	e.waitHops(t, ip, e.allNodes()...)
	const node, iface = "node2", "lo"
	if out, err := e.lab.Exec(ctx, node, "ip", "addr", "add", ip+"/32", "dev", iface); err != nil {
		t.Fatalf("adding %s to %s's %s: %s: %v", ip, node, iface, out, err)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			_, _ = e.lab.Exec(context.Background(), node, "ip", "addr", "del", ip+"/32", "dev", iface)
		}
	})
	var others []string
	for _, n := range e.allNodes() {
		if n != node {
			others = append(others, n)
		}
	}
	e.waitHops(t, ip, others...)
	labtest.Eventually(t, wait, node+"'s NodeState should report "+ip+" on "+iface+" as a BGP conflict", func() string {
		var st v1beta1.NodeState
		if err := e.c.Get(ctx, client.ObjectKey{Name: node}, &st); err != nil {
			return err.Error()
		}
		for _, c := range st.Status.IPConflicts {
			if c.IP == ip && c.Mode == "BGP" && c.Interface == iface {
				return ""
			}
		}
		return fmt.Sprintf("ipConflicts %+v", st.Status.IPConflicts)
	})
	labtest.Eventually(t, wait, "the Service should say IPConflict naming "+node+" and "+iface, func() string {
		var cur corev1.Service
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(svc), &cur); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(cur.Status.Conditions, controllers.ConditionAnnounced)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != controllers.ReasonIPConflict ||
			!strings.Contains(c.Message, "node "+node+" has it on its interface "+iface) {
			return fmt.Sprintf("condition %+v", c)
		}
		return ""
	})
	out, err := e.lab.Vtysh(ctx, node, "show running-config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, ip+"/32") {
		t.Errorf("%s's FRR config still has %s/32 while the address is on its %s:\n%s", node, ip, iface, out)
	}

	if out, err := e.lab.Exec(ctx, node, "ip", "addr", "del", ip+"/32", "dev", iface); err != nil {
		t.Fatalf("removing %s from %s's %s: %s: %v", ip, node, iface, out, err)
	}
	removed = true
	e.waitHops(t, ip, e.allNodes()...)
	e.waitStatusSays(t, svc, ip, e.allNodes()...)
}
