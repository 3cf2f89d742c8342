package l2

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/labtest"
)

// testDrain: cordoning the node that answers for a Service's IP hands the
// IP to another node, which answers (with its MAC) before the old one goes
// silent, so that the client's ARP requests, every 10 ms, are all
// answered; NodeState says Drained with the L2Handover step. Uncordoning
// brings the IP back, and no IP of another node moves at any time.
func testDrain(t *testing.T, e *env) {
	ctx := context.Background()
	const n = 6
	svcs := make([]*corev1.Service, n)
	ips := make([]netip.Addr, n)
	owners := make([]string, n)
	for i := range n {
		svcs[i], ips[i] = e.service(t, fmt.Sprintf("l2-drain-%d", i), pool4, corev1.IPv4Protocol, corev1.ServiceExternalTrafficPolicyCluster)
	}
	for i := range n {
		owners[i] = e.waitOwner(t, svcs[i], ips[i], anyNode)
	}
	old, ip := owners[0], ips[0]
	e.waitAnswers(t, ip, old)
	stop := e.capture(t)
	prober, err := StartProber(ctx, e.lab, ip, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var replies []Reply
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for r := range prober.Replies() {
			replies = append(replies, r)
		}
	}()
	stopProber := func() {
		prober.Stop()
		<-collected
	}
	defer func() {
		if prober != nil {
			stopProber()
		}
	}()
	t.Cleanup(func() { _ = e.lab.Cordon(context.Background(), old, false) })

	start := time.Now()
	if err := e.lab.Cordon(ctx, old, true); err != nil {
		t.Fatal(err)
	}
	next := e.waitOwner(t, svcs[0], ip, not(old))
	e.waitAnswers(t, ip, next)
	for i := 1; i < n; i++ {
		if owners[i] == old {
			e.waitOwner(t, svcs[i], ips[i], not(old))
		}
	}
	labtest.Eventually(t, wait, "NodeState "+old+" should say Drained with the L2Handover step", func() string {
		var st v1beta1.NodeState
		if err := e.c.Get(ctx, client.ObjectKey{Name: old}, &st); err != nil {
			return err.Error()
		}
		d := st.Status.Drain
		if d == nil || d.Phase != v1beta1.DrainPhaseDrained || d.Reason != "it is cordoned" {
			return fmt.Sprintf("drain status %+v", d)
		}
		if !slices.ContainsFunc(d.Steps, func(s v1beta1.DrainStep) bool { return s.Name == v1beta1.DrainStepL2Handover }) {
			return fmt.Sprintf("steps %+v lack %s", d.Steps, v1beta1.DrainStepL2Handover)
		}
		t.Logf("NodeState %s drain: %+v", old, d.Steps)
		return ""
	})
	drained := time.Now()

	// Uncordon: the IP comes back to old (its rendezvous owner).
	if err := e.lab.Cordon(ctx, old, false); err != nil {
		t.Fatal(err)
	}
	e.waitOwner(t, svcs[0], ip, is(old))
	e.waitAnswers(t, ip, old)
	for i := range n {
		e.waitOwner(t, svcs[i], ips[i], is(owners[i]))
	}
	back := time.Now()
	sent := prober.Sent()
	stopProber()
	prober = nil

	// Every request sent from the cordon until the drain was over was
	// answered (those of the last 200 ms before drained may still have
	// replies in flight: they are not counted).
	var during []time.Time
	for _, s := range sent {
		if !s.Before(start) && s.Before(drained.Add(-200*time.Millisecond)) {
			during = append(during, s)
		}
	}
	lost := Unanswered(sent, replies)
	var lostDuring, lostBack int
	for _, l := range lost {
		switch {
		case !l.Before(start) && l.Before(drained.Add(-200*time.Millisecond)):
			lostDuring++
		case !l.Before(drained) && l.Before(back.Add(-200*time.Millisecond)):
			lostBack++
		}
	}
	t.Logf("drain of %s: %d ARP requests every 10 ms from the cordon to Drained (%s), %d unanswered; after the uncordon %d unanswered",
		old, len(during), drained.Sub(start).Round(time.Millisecond), lostDuring, lostBack)
	if lostDuring > 0 {
		t.Errorf("%d of the client's %d ARP requests for %s went unanswered while %s drained: %v", lostDuring, len(during), ip, old, lost)
	}
	// The new owner answered before the old one went silent.
	oldMAC, nextMAC := e.macOf(old), e.macOf(next)
	var firstNext, lastOld time.Time
	for _, r := range replies {
		if r.At.Before(start) || r.At.After(drained) {
			continue
		}
		if r.MAC == nextMAC && firstNext.IsZero() {
			firstNext = r.At
		}
		if r.MAC == oldMAC {
			lastOld = r.At
		}
	}
	if firstNext.IsZero() || !lastOld.After(firstNext) {
		t.Errorf("%s's first reply (%s) should come before %s's last one (%s) during the drain",
			next, firstNext.Format("15:04:05.000"), old, lastOld.Format("15:04:05.000"))
	} else {
		t.Logf("%s answered from %s after the cordon; %s's last answer %s after that",
			next, firstNext.Sub(start).Round(time.Millisecond), old, lastOld.Sub(firstNext).Round(time.Millisecond))
	}
	// No flap elsewhere: each IP old did not own was answered by one MAC
	// throughout; old's IPs overlap during their hand-off (both answer),
	// so they are not held to one run.
	maxRuns := map[netip.Addr]int{}
	for i := range n {
		if owners[i] == old {
			maxRuns[ips[i]] = 1 << 20
		}
	}
	stop(maxRuns)
}

// macOf returns node's LAN MAC.
func (e *env) macOf(node string) string {
	for m, n := range e.macs {
		if n == node {
			return m
		}
	}
	return ""
}
