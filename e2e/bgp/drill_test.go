package bgp

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/internal/drill"
	"github.com/heraldlb/herald/internal/testenv"
	"github.com/heraldlb/herald/kubectlplugin"
	"github.com/heraldlb/herald/speaker"
)

// drillPort is the port the drill's lab pods serve and the probes connect
// to: the lab has no kube-proxy, so a pod serves its targetPort on the VIPs
// itself (--port in the command).
const drillPort = 8080

// TestDrill runs kubectl herald drill (kubectlplugin.RunDrill, the
// command's body) on a BGP Service of the lab, probing with TCP connects
// from the client namespace: during the drill the router's next hops for
// the IP are the two other nodes, after it all three again; the old node
// comes back cleanly, the annotation is gone, and the speaker recorded
// DrillStarted and DrillEnded on the Service. The outage is logged.
func TestDrill(t *testing.T) {
	testenv.RequireRoot(t)
	l := labtest.Up(t, lab.Options{})
	labtest.RequireComponents(t, l, lab.Controller, lab.Speaker, lab.FRRAgent)
	e := newEnv(t, l)
	e.reset(t)
	t.Cleanup(func() { e.reset(t) })
	e.base(t)
	ctx := context.Background()
	svc, ip := e.service(t, "bgp-drill", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	all := e.allNodes()
	for _, n := range all {
		name := "bgp-drill-" + n
		if _, err := l.StartPod(ctx, lab.PodSpec{Name: name, Node: n, Service: svcNS + "/" + svc.Name, Port: drillPort}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.StopPod(context.Background(), name) })
	}
	e.waitHops(t, ip, all...)
	// kubectl herald drill reads who announces from the NodeStates.
	labtest.Eventually(t, wait, "every NodeState should show "+ip+" announced", func() string {
		var states []string
		for _, n := range all {
			if !e.nodeStateAnnounces(n, ip) {
				states = append(states, n)
			}
		}
		if len(states) > 0 {
			return "not on " + strings.Join(states, ", ")
		}
		return ""
	})
	clientNS, err := l.Plan().Netns(lab.ClientName)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		rep *kubectlplugin.DrillReport
		err error
	}
	done := make(chan result, 1)
	var out bytes.Buffer
	go func() {
		rep, err := kubectlplugin.RunDrill(ctx, e.c, kubectlplugin.DrillOptions{
			Load:     kubectlplugin.LoadOptions{Namespace: ns, Service: svcNS + "/" + svc.Name},
			Probe:    kubectlplugin.ProbeTarget{Port: drillPort, Every: 10 * time.Millisecond, Timeout: 200 * time.Millisecond, Netns: filepath.Join("/var/run/netns", clientNS)},
			From:     "network namespace " + clientNS + " (the lab's client, behind the router)",
			Duration: 8 * time.Second, Settle: wait,
		}, &out)
		done <- result{rep, err}
	}()
	// The first node by name gives it up: the router keeps the others.
	e.waitHops(t, ip, all[1:]...)
	withdrawn := time.Now()
	res := <-done
	t.Logf("kubectl herald drill svc/%s --port %d --duration 8s --from-netns %s:\n%s", svc.Name, drillPort, clientNS, out.String())
	if res.err != nil {
		t.Fatal(res.err)
	}
	rep := res.rep
	t.Logf("the router's next hops lost %s within %s of the annotation (polled)", rep.Plan.Node, withdrawn.Sub(rep.Start).Round(time.Millisecond))
	if rep.Plan.Node != all[0] || rep.Plan.Mode != kubectlplugin.ModeBGP {
		t.Errorf("drilled node %s in mode %s, want %s in BGP mode", rep.Plan.Node, rep.Plan.Mode, all[0])
	}
	if !slices.Equal(rep.TakenOverBy, all[1:]) {
		t.Errorf("paths left %v, want %v", rep.TakenOverBy, all[1:])
	}
	if !rep.CameBack() {
		t.Errorf("%s did not come back cleanly: back at %v, last probe answered %v", rep.Plan.Node, rep.Back, rep.Return.Recovered)
	}
	if rep.Drill.Sent == 0 || rep.Return.Sent == 0 {
		t.Errorf("probes: %d during the drill, %d after; want some in both", rep.Drill.Sent, rep.Return.Sent)
	}
	e.waitHops(t, ip, all...)
	if err := e.c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
		t.Fatal(err)
	}
	if v, ok := svc.Annotations[drill.Annotation]; ok {
		t.Errorf("annotation %s=%s left on the Service after the drill", drill.Annotation, v)
	}
	labtest.Eventually(t, wait, "node "+all[0]+" should record DrillStarted and DrillEnded on the Service", func() string {
		var evs corev1.EventList
		if err := e.c.List(ctx, &evs, client.InNamespace(svc.Namespace)); err != nil {
			return err.Error()
		}
		seen := map[string]bool{}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Kind == "Service" && ev.InvolvedObject.Name == svc.Name && strings.Contains(ev.Message, "node "+all[0]+" ") {
				seen[ev.Reason] = true
			}
		}
		if !seen[speaker.ReasonDrillStarted] || !seen[speaker.ReasonDrillEnded] {
			return fmt.Sprintf("reasons seen: %v", seen)
		}
		return ""
	})
}

// nodeStateAnnounces reports whether node's NodeState lists a prefix
// holding ip among its BGP announcements.
func (e *env) nodeStateAnnounces(node, ip string) bool {
	st := &v1beta1.NodeState{}
	if err := e.c.Get(context.Background(), client.ObjectKey{Name: node}, st); err != nil {
		return false
	}
	for _, a := range st.Status.BGPAnnouncements {
		if slices.Contains(a.Prefixes, ip+"/32") {
			return true
		}
	}
	return false
}
