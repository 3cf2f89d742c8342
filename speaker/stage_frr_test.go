package speaker

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
)

// TestSpeakerStagesNewPeersOnFRR runs the speaker against a real frr-agent
// and FRR with StageNeighbors 5: 40 BGPPeers created at once are added a
// few per apply, and a Service created right after them reaches the router
// while the node's FRR has fewer than all of them (without staging, the
// Service waits behind the one apply of all 40); the NodeState says
// Progressing with the count until every neighbor is there, then Applied.
func TestSpeakerStagesNewPeersOnFRR(t *testing.T) {
	const newPeers, per = 40, 5
	router, sock := frrPair(t)
	cfg, c := apitest.Start(t)
	cluster(t, c)
	var p v1beta1.BGPPeer
	if err := c.Get(context.Background(), clientKey(testNS, "router"), &p); err != nil {
		t.Fatal(err)
	}
	p.Spec.PeerASN = 64512 // iBGP, as the router's config says
	p.Spec.BFDProfile = ""
	if err := c.Update(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	lbService(t, c, "web", "192.0.2.10")
	agent := NewAgentClient(sock)
	startSpeaker(t, cfg, nil, func(sc *Config) { sc.Agent = agent; sc.StageNeighbors = per })
	want := ribRoute{LocalPref: 100}
	waitRIB(t, router, map[string]ribRoute{"192.0.2.10/32": want})

	// 40 peers nobody answers for (their sessions stay down, as for
	// routers not racked yet), then a Service.
	for i := range newPeers {
		mustCreate(t, c, &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rack-%02d", i), Namespace: testNS},
			Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64600, PeerAddress: fmt.Sprintf("198.51.100.%d", 100+i)}})
	}
	lbService(t, c, "db", "192.0.2.11")

	// Neighbors only come during the rollout: fewer than all of them after
	// the prefix is at the router means fewer when it arrived.
	neighbors := func() int {
		st, err := agent.State(context.Background())
		if err != nil {
			t.Fatalf("reading FRR's state: %v", err)
		}
		return len(st.Sessions)
	}
	var progress []string
	saw := func() {
		f := nodeState(t, c).Status.FRR
		if f != nil && f.Result == v1beta1.FRRProgressing && !slices.Contains(progress, f.Message) {
			progress = append(progress, f.Message)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rib, err := routerRIB(context.Background(), router)
		if err == nil {
			if _, ok := rib["192.0.2.11/32"]; ok {
				break
			}
		}
		saw()
		if time.Now().After(deadline) {
			t.Fatalf("the new Service's prefix did not reach the router in 2 minutes (RIB %v, err %v)", rib, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := neighbors(); n >= 1+newPeers {
		t.Errorf("FRR has all %d neighbors once the new Service's prefix is at the router: it waited for every peer", n)
	} else {
		t.Logf("the new Service's prefix reached the router with %d of %d neighbors configured", n, 1+newPeers)
	}

	eventually2m(t, "every neighbor configured and the NodeState Applied", func() bool {
		saw()
		f := nodeState(t, c).Status.FRR
		return f != nil && f.Result == v1beta1.FRRApplied && neighbors() == 1+newPeers
	})
	// The count is of the neighbors new since the rollout began: the
	// speaker may have applied the first peers the cache showed it before.
	count := regexp.MustCompile(fmt.Sprintf(`^adding BGP neighbors [0-9]+/[0-9]+ \(%d per apply`, per))
	if !slices.ContainsFunc(progress, count.MatchString) {
		t.Errorf("the NodeState never said Progressing with \"adding BGP neighbors n/m (%d per apply\"; saw %q", per, progress)
	}
	waitRIB(t, router, map[string]ribRoute{"192.0.2.10/32": want, "192.0.2.11/32": want})
}

// eventually2m is eventually with two minutes: an FRR rollout of many
// neighbors on a loaded machine.
func eventually2m(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 2m waiting for: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
