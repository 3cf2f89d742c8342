package l2

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
// command's body) on an L2 Service of the lab, probing with TCP connects
// from the client namespace: the owner gives the IP up, another node takes
// it over (the NodeStates, and ARP replies from its MAC at the client),
// the annotation is removed, the old owner answers again, and the speakers
// record DrillStarted and DrillEnded on the Service. The outage is logged.
func TestDrill(t *testing.T) {
	testenv.RequireRoot(t)
	l := labtest.Up(t, lab.Options{})
	labtest.RequireComponents(t, l, lab.Controller, lab.Speaker)
	e := newEnv(t, l)
	e.reset(t)
	t.Cleanup(func() { e.reset(t) })
	e.base(t)
	ctx := context.Background()
	svc, ip := e.service(t, "l2-drill", pool4, corev1.IPv4Protocol, corev1.ServiceExternalTrafficPolicyCluster)
	for _, n := range l.Plan().Nodes {
		name := "l2-drill-" + n.Name
		if _, err := l.StartPod(ctx, lab.PodSpec{Name: name, Node: n.Name, Service: svcNS + "/" + svc.Name, Port: drillPort}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.StopPod(context.Background(), name) })
	}
	// The client reaches L2 VIPs on its LAN, as hosts on the subnet of an
	// L2 pool do (by default it routes through the router, which has no
	// route to them in L2 mode).
	onLink := []string{"ip", "route", "add", "192.0.2.0/26", "dev", LANLink}
	if _, err := l.Exec(ctx, lab.ClientName, onLink...); err != nil {
		t.Fatalf("adding the client's on-link route to the L2 pool: %v", err)
	}
	t.Cleanup(func() {
		onLink[2] = "del"
		if _, err := l.Exec(context.Background(), lab.ClientName, onLink...); err != nil {
			t.Errorf("removing the client's on-link route: %v", err)
		}
	})
	old := e.waitOwner(t, svc, ip, anyNode)
	e.waitAnswers(t, ip, old)
	client4, err := l.Plan().Netns(lab.ClientName)
	if err != nil {
		t.Fatal(err)
	}
	arp, err := StartProber(ctx, l, ip, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer arp.Stop()

	var out bytes.Buffer
	rep, err := kubectlplugin.RunDrill(ctx, e.c, kubectlplugin.DrillOptions{
		Load:     kubectlplugin.LoadOptions{Namespace: ns, Service: svcNS + "/" + svc.Name},
		Probe:    kubectlplugin.ProbeTarget{Port: drillPort, Every: 10 * time.Millisecond, Timeout: 200 * time.Millisecond, Netns: filepath.Join("/var/run/netns", client4)},
		From:     "network namespace " + client4 + " (the lab's client)",
		Duration: 3 * time.Second, Settle: wait,
	}, &out)
	t.Logf("kubectl herald drill svc/%s --port %d --duration 3s --from-netns %s:\n%s", svc.Name, drillPort, client4, out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Plan.Node != old || rep.Plan.Mode != kubectlplugin.ModeL2 {
		t.Errorf("drilled node %s in mode %s, want the owner %s in L2 mode", rep.Plan.Node, rep.Plan.Mode, old)
	}
	if len(rep.TakenOverBy) != 1 || rep.TakenOverBy[0] == old || rep.TakenOver.IsZero() {
		t.Fatalf("taken over by %v, want one node other than %s", rep.TakenOverBy, old)
	}
	if !rep.CameBack() {
		t.Errorf("%s did not come back cleanly: back at %v, last probe answered %v", old, rep.Back, rep.Return.Recovered)
	}
	if rep.Drill.Sent == 0 || rep.Return.Sent == 0 {
		t.Errorf("probes: %d during the drill, %d after; want some in both", rep.Drill.Sent, rep.Return.Sent)
	}
	// What the client saw: ARP replies from the new owner's MAC during the
	// drill, from the old owner's after it.
	mac := map[string]string{}
	for m, n := range e.macs {
		mac[n] = m
	}
	taken := rep.TakenOverBy[0]
	r1, err := arp.WaitFor(mac[taken], rep.Start, wait)
	if err != nil {
		t.Fatalf("the client saw no ARP reply from the new owner %s: %v", taken, err)
	}
	r2, err := arp.WaitFor(mac[old], rep.Released, wait)
	if err != nil {
		t.Fatalf("the client saw no ARP reply from %s after the drill: %v", old, err)
	}
	t.Logf("ARP at the client: %s answered %s after the annotation was written; %s answered again %s after it was removed",
		taken, r1.At.Sub(rep.Start).Round(time.Millisecond), old, r2.At.Sub(rep.Released).Round(time.Millisecond))
	e.waitOwner(t, svc, ip, is(old))
	checkDrillAftermath(t, e.c, svc, old)

	// Interrupted (Ctrl-C: the command's context ends) in the middle of a
	// long drill: the annotation is removed at once and the owner is back.
	ictx, cancel := context.WithCancel(ctx)
	type result struct {
		rep *kubectlplugin.DrillReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := kubectlplugin.RunDrill(ictx, e.c, kubectlplugin.DrillOptions{
			Load:     kubectlplugin.LoadOptions{Namespace: ns, Service: svcNS + "/" + svc.Name},
			Probe:    kubectlplugin.ProbeTarget{Port: drillPort, Every: 10 * time.Millisecond, Timeout: 200 * time.Millisecond, Netns: filepath.Join("/var/run/netns", client4)},
			From:     "the client",
			Duration: 10 * time.Minute, Settle: wait,
		}, io.Discard)
		done <- result{rep, err}
	}()
	e.waitOwner(t, svc, ip, not(old))
	cancel()
	res := <-done
	if res.err == nil || res.rep == nil || !res.rep.Interrupted {
		t.Fatalf("interrupted drill: report %+v, error %v; want an interrupted report and an error", res.rep, res.err)
	}
	t.Logf("interrupted drill: %v; annotation removed %s after it was written", res.err, res.rep.Released.Sub(res.rep.Start).Round(time.Millisecond))
	if err := e.c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
		t.Fatal(err)
	}
	if v, ok := svc.Annotations[drill.Annotation]; ok {
		t.Errorf("annotation %s=%s left on the Service after an interrupted drill", drill.Annotation, v)
	}
	e.waitOwner(t, svc, ip, is(old))
}

// checkDrillAftermath checks that the annotation is gone and that node
// recorded DrillStarted then DrillEnded on the Service.
func checkDrillAftermath(t *testing.T, c client.Client, svc *corev1.Service, node string) {
	t.Helper()
	ctx := context.Background()
	if err := c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
		t.Fatal(err)
	}
	if v, ok := svc.Annotations[drill.Annotation]; ok {
		t.Errorf("annotation %s=%s left on the Service after the drill", drill.Annotation, v)
	}
	labtest.Eventually(t, wait, "node "+node+" should record DrillStarted and DrillEnded on the Service", func() string {
		var evs corev1.EventList
		if err := c.List(ctx, &evs, client.InNamespace(svc.Namespace)); err != nil {
			return err.Error()
		}
		seen := map[string]bool{}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Kind == "Service" && ev.InvolvedObject.Name == svc.Name && bytes.Contains([]byte(ev.Message), []byte("node "+node+" ")) {
				seen[ev.Reason] = true
			}
		}
		if !seen[speaker.ReasonDrillStarted] || !seen[speaker.ReasonDrillEnded] {
			return fmt.Sprintf("reasons seen: %v", seen)
		}
		return ""
	})
}
