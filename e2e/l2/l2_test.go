package l2

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/internal/testenv"
)

// TestL2 brings the lab up once and runs every Layer 2 case on it.
func TestL2(t *testing.T) {
	testenv.RequireRoot(t)
	l := labtest.Up(t, lab.Options{})
	labtest.RequireComponents(t, l, lab.Controller, lab.Speaker)
	e := newEnv(t, l)
	e.warmUp(t)
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"one node answers, the one NodeState and Announced name", testAnswers},
		{"30 Services spread over the nodes", testSpread},
		{"Local Services answered where their pod runs", testLocal},
		{"link cut moves the IP to a new MAC", testLinkCut},
		{"restarted old owner stays silent for what it lost", testRestartedOwner},
		{"an address the client holds is not announced: IPConflict until it goes", func(t *testing.T, e *env) { testConflictBeforeAnnounce(t, e, squatted4) }},
		{"an address the client claims while a node answers: IPConflict, no flap", func(t *testing.T, e *env) { testConflictWhileAnnouncing(t, e, squatted4) }},
		{"an IPv6 address the client holds is not announced: IPConflict until it goes", func(t *testing.T, e *env) { testConflictBeforeAnnounce(t, e, squatted6) }},
		{"an IPv6 address the client claims while a node answers: IPConflict, no flap", func(t *testing.T, e *env) { testConflictWhileAnnouncing(t, e, squatted6) }},
		{"cordoned owner hands its IP over, no request lost", testDrain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.reset(t)
			t.Cleanup(func() { e.reset(t) })
			e.base(t)
			tc.run(t, e)
		})
	}
}

func testAnswers(t *testing.T, e *env) {
	stop := e.capture(t)
	svc4, ip4 := e.service(t, "l2-v4", pool4, corev1.IPv4Protocol, corev1.ServiceExternalTrafficPolicyCluster)
	svc6, ip6 := e.service(t, "l2-v6", pool6, corev1.IPv6Protocol, corev1.ServiceExternalTrafficPolicyCluster)
	n4 := e.waitOwner(t, svc4, ip4, anyNode)
	e.waitAnswers(t, ip4, n4)
	n6 := e.waitOwner(t, svc6, ip6, anyNode)
	e.waitAnswers(t, ip6, n6)
	answers := stop(nil)
	for ip, n := range map[netip.Addr]string{ip4: n4, ip6: n6} {
		var got []string
		for _, m := range MACs(answers, ip) {
			got = append(got, e.macs[m])
		}
		if !slices.Equal(got, []string{n}) {
			t.Errorf("the client's capture saw %s answered by %v, want %s alone", ip, got, n)
		}
	}
}

func testSpread(t *testing.T, e *env) {
	const n = 30
	stop := e.capture(t)
	svcs := make([]*corev1.Service, n)
	ips := make([]netip.Addr, n)
	for i := range n {
		svcs[i], ips[i] = e.service(t, fmt.Sprintf("l2-spread-%02d", i), pool4, corev1.IPv4Protocol, corev1.ServiceExternalTrafficPolicyCluster)
	}
	var owners map[netip.Addr][]string
	labtest.Eventually(t, wait, "the NodeStates should name exactly one node for each of the 30 IPs", func() string {
		var err error
		if owners, err = e.l2Owners(); err != nil {
			return err.Error()
		}
		for _, ip := range ips {
			if len(owners[ip]) != 1 {
				return fmt.Sprintf("%s: %v", ip, owners[ip])
			}
		}
		return ""
	})
	count := map[string]int{}
	for _, ip := range ips {
		count[owners[ip][0]]++
	}
	t.Logf("IPs per node: %v", count)
	for node, c := range count {
		if c > n/2 {
			t.Errorf("%s answers for %d of the %d IPs, more than %d: %v", node, c, n, n/2, count)
		}
	}
	// Every IP answered by the node its NodeState names, probed in parallel.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	sem := make(chan struct{}, 6)
	for _, ip := range ips {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			want := []string{owners[ip][0][:len(owners[ip][0])-len("/"+LANLink)]}
			var got []string
			for try := 0; try < 3; try++ {
				if got = e.arping(t, ip); slices.Equal(got, want) {
					return
				}
			}
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%s answered by %v, want %v", ip, got, want))
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, b := range bad {
		t.Error(b)
	}
	stop(nil)
}

func testLocal(t *testing.T, e *env) {
	ctx := context.Background()
	stop := e.capture(t)
	svc, ip := e.service(t, "l2-local", pool4, corev1.IPv4Protocol, corev1.ServiceExternalTrafficPolicyLocal)
	// No pod: no node may answer.
	time.Sleep(2 * time.Second)
	e.waitAnswers(t, ip, "")
	var prev string
	for i, node := range []string{"node2", "node3"} {
		name := fmt.Sprintf("l2-local-%d", i)
		if _, err := e.lab.StartPod(ctx, lab.PodSpec{Name: name, Node: node, Service: svcNS + "/" + svc.Name}); err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			if err := e.lab.StopPod(ctx, prev); err != nil {
				t.Fatal(err)
			}
		}
		prev = name
		e.waitOwner(t, svc, ip, is(node))
		e.waitAnswers(t, ip, node)
	}
	if err := e.lab.StopPod(ctx, prev); err != nil {
		t.Fatal(err)
	}
	e.waitAnswers(t, ip, "")
	// node2 then node3: two owners in turn.
	stop(map[netip.Addr]int{ip: 2})
}

func testLinkCut(t *testing.T, e *env) {
	ctx := context.Background()
	stop := e.capture(t)
	svc, ip := e.service(t, "l2-cut", pool4, corev1.IPv4Protocol, corev1.ServiceExternalTrafficPolicyCluster)
	old := e.waitOwner(t, svc, ip, anyNode)
	e.waitAnswers(t, ip, old)
	if err := e.lab.CutLink(ctx, old); err != nil {
		t.Fatal(err)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = e.lab.RestoreLink(context.Background(), old)
		}
	})
	next := e.waitOwner(t, svc, ip, not(old))
	e.waitAnswers(t, ip, next)
	if err := e.lab.RestoreLink(ctx, old); err != nil {
		t.Fatal(err)
	}
	restored = true
	// Back on the LAN, the old owner is the better one again for this IP:
	// it takes it back, with no moment where two nodes answer (while it
	// rejoins, the others' views of membership may disagree for a moment).
	e.waitOwner(t, svc, ip, is(old))
	e.waitAnswers(t, ip, old)
	// old, next, and old again when it took the IP back.
	stop(map[netip.Addr]int{ip: 3})
}

func testRestartedOwner(t *testing.T, e *env) {
	ctx := context.Background()
	stop := e.capture(t)
	svc, ip := e.service(t, "l2-restart", pool4, corev1.IPv4Protocol, corev1.ServiceExternalTrafficPolicyCluster)
	old := e.waitOwner(t, svc, ip, anyNode)
	e.waitAnswers(t, ip, old)
	sp, err := FindSpeaker(e.lab, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.lab.CutLink(ctx, old); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		_ = e.lab.RestoreLink(context.Background(), old)
		if !restarted {
			if err := sp.Restart(); err != nil {
				t.Error(err)
			}
		}
	})
	next := e.waitOwner(t, svc, ip, not(old))
	// The old owner, cut off, crashes, and loses the IP for good: the
	// advertisement no longer selects it.
	if err := sp.Signal(syscall.SIGKILL, true); err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, n := range e.lab.Plan().Nodes {
		if n.Name != old {
			others = append(others, n.Name)
		}
	}
	labtest.Apply(t, e.c, &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: advName, Namespace: ns},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{pool4, pool6}, Interfaces: []v1beta1.InterfaceName{LANLink},
			NodeSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/hostname", Operator: metav1.LabelSelectorOpIn, Values: others,
			}}}}}})
	e.waitAnswers(t, ip, next)
	if err := sp.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if err := e.lab.RestoreLink(ctx, old); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	// Give the restarted speaker time to start, join and read its config.
	labtest.Eventually(t, wait, "the restarted speaker of "+old+" should serve /readyz", func() string {
		out, err := e.lab.Exec(ctx, old, "sh", "-c", "ss -Hltn | grep -c ':7473 '")
		if err != nil {
			return fmt.Sprintf("%v %s", err, out)
		}
		return ""
	})
	time.Sleep(3 * time.Second)
	e.waitOwner(t, svc, ip, is(next))
	e.waitAnswers(t, ip, next)
	answers := stop(map[netip.Addr]int{ip: 2})
	oldMAC := ""
	for m, n := range e.macs {
		if n == old {
			oldMAC = m
		}
	}
	for _, a := range answers {
		if a.IP == ip && a.MAC == oldMAC && a.At.After(back) {
			t.Errorf("%s answered for %s at %s (%s) after it came back, though it lost it", old, ip, a.At.Format("15:04:05.000"), a.Kind)
		}
	}
}
