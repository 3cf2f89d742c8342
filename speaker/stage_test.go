package speaker

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/apitest"
)

// TestSpeakerStagesNewPeers follows the applies of a speaker (real API
// server, the fake agent) when 12 BGPPeers come at once with
// StageNeighbors 5: each apply adds at most 5 neighbors to the one before,
// some steps add them without prefixes, the Service made with them goes
// to the router peer before the last apply, which is the plan, every
// neighbor with its prefixes; the NodeState then says Applied.
func TestSpeakerStagesNewPeers(t *testing.T) {
	cfg, c := apitest.Start(t)
	cluster(t, c)
	lbService(t, c, "web", "192.0.2.10")
	agent := &fakeAgent{}
	startSpeaker(t, cfg, agent, func(sc *Config) { sc.StageNeighbors = 5 })
	eventually(t, "the first config applied", func() bool { return len(agent.advertised("198.51.100.1")) == 1 })
	first := agent.count()

	var peers []v1beta1.BGPPeer
	for i := range 12 {
		peers = append(peers, v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rack-%02d", i), Namespace: testNS},
			Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64600, PeerAddress: fmt.Sprintf("198.51.100.%d", 100+i)}})
	}
	// The agent holds its applies while the peers and a Service are
	// created, so that the speaker's plan has all 12 (from the cache they
	// come one by one: alone, each would be applied at once, being fewer
	// than 5).
	agent.mu.Lock()
	for i := range peers {
		mustCreate(t, c, &peers[i])
	}
	lbService(t, c, "db", "192.0.2.11")
	time.Sleep(time.Second) // for the speaker's cache to see them
	agent.mu.Unlock()
	neighborsOf := func(cfg *frrconfig.Config) int {
		n := 0
		for _, r := range cfg.Routers {
			n += len(r.Neighbors)
		}
		return n
	}
	eventually(t, "all 13 neighbors applied and the NodeState Applied", func() bool {
		last, _ := agent.last()
		f := nodeState(t, c).Status.FRR
		return neighborsOf(&last) == 13 && f != nil && f.Result == v1beta1.FRRApplied
	})

	agent.mu.Lock()
	applies := append([]frrconfig.Config(nil), agent.applies[first-1:]...)
	agent.mu.Unlock()
	sawDB, bare := false, false
	for i := 1; i < len(applies); i++ {
		prev, cur := &applies[i-1], &applies[i]
		if added := neighborsOf(cur) - neighborsOf(prev); added > 5 {
			t.Errorf("apply %d adds %d neighbors, want at most 5", i, added)
		}
		final := i == len(applies)-1
		for _, n := range cur.Routers[0].Neighbors {
			switch {
			case final && len(n.Advertise) == 0:
				t.Errorf("the last apply gives neighbor %s no prefix", n.Address)
			case final:
			case n.Address.String() == "198.51.100.1":
				for _, a := range n.Advertise {
					sawDB = sawDB || a.Prefix.String() == "192.0.2.11/32"
				}
			case len(n.Advertise) == 0:
				bare = true
			}
		}
		if !final && neighborsOf(cur) == 13 && !bare {
			t.Errorf("apply %d has every neighbor but is not the last", i)
		}
	}
	if !bare {
		t.Errorf("no step added neighbors without their prefixes: the rollout was not staged")
	}
	if !sawDB {
		t.Errorf("the new Service's prefix waited for the last apply")
	}
}
