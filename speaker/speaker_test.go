package speaker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/apitest"
)

const testNS = "herald-system"

// eventually polls cond every 10ms until it holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustCreate(t testing.TB, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// lbService creates a LoadBalancer Service and gives it ip in its status,
// as the controller would.
func lbService(t testing.TB, c client.Client, name, ip string) *corev1.Service {
	t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
	mustCreate(t, c, s)
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	if err := c.Status().Update(context.Background(), s); err != nil {
		t.Fatalf("setting the status of service %s: %v", name, err)
	}
	return s
}

// cluster creates herald's namespace, three nodes, a pool, a peer with a
// BFD profile and an advertisement.
func cluster(t testing.TB, c client.Client) {
	t.Helper()
	apitest.Namespace(t, c, testNS)
	for i := 1; i <= 3; i++ {
		n := fmt.Sprintf("node%d", i)
		mustCreate(t, c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"kubernetes.io/hostname": n}}})
	}
	mult := uint32(3)
	mustCreate(t, c,
		&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: testNS},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/26"}}},
		&v1beta1.BFDProfile{ObjectMeta: metav1.ObjectMeta{Name: "fast", Namespace: testNS},
			Spec: v1beta1.BFDProfileSpec{DetectMultiplier: &mult}},
		&v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: testNS},
			Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64500, PeerAddress: "198.51.100.1", BFDProfile: "fast"}},
		&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: testNS}},
	)
}

type running struct {
	agent  *fakeAgent
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

// startSpeaker runs a speaker for node1 with a fake agent.
func startSpeaker(t *testing.T, cfg *rest.Config, agent *fakeAgent, mod ...func(*Config)) *running {
	t.Helper()
	opts := ManagerOptions("node1", testNS)
	opts.Metrics = metricsserver.Options{BindAddress: "0"}
	mgr, err := manager.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sc := Config{Node: "node1", Namespace: testNS, Agent: agent, Metrics: m,
		RetryInterval: 100 * time.Millisecond, StateInterval: 200 * time.Millisecond, Log: testr.New(t)}
	for _, f := range mod {
		f(&sc)
	}
	_, err = Setup(ctx, mgr, sc)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &running{agent: agent, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- mgr.Start(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	<-r.done
}

func nodeState(t *testing.T, c client.Client) v1beta1.NodeState {
	t.Helper()
	var ns v1beta1.NodeState
	if err := c.Get(context.Background(), client.ObjectKey{Name: "node1"}, &ns); err != nil {
		return v1beta1.NodeState{}
	}
	return ns
}

func TestSpeaker(t *testing.T) {
	cfg, c := apitest.Start(t)
	cluster(t, c)
	lbService(t, c, "web", "192.0.2.10")
	agent := &fakeAgent{}
	r := startSpeaker(t, cfg, agent)

	eventually(t, "192.0.2.10 advertised", func() bool {
		return cmp.Equal(agent.advertised("198.51.100.1"), []string{"192.0.2.10/32"})
	})
	if n := agent.count(); n != 1 {
		t.Errorf("the first plan took %d applies, want 1", n)
	}
	got, _ := agent.last()
	if nb := got.Routers[0].Neighbors[0]; !nb.BFD || nb.BFDProfile != "fast" || len(got.BFDProfiles) != 1 {
		t.Errorf("neighbor BFD = %v %q, profiles %v; want the fast profile", nb.BFD, nb.BFDProfile, got.BFDProfiles)
	}

	t.Run("NodeState", func(t *testing.T) {
		eventually(t, "NodeState with the session and the announcement", func() bool {
			ns := nodeState(t, c)
			return ns.Status.FRR != nil && ns.Status.SessionsUp == 1 && len(ns.Status.BGPAnnouncements) == 1
		})
		st := nodeState(t, c).Status
		if st.FRR.Result != v1beta1.FRRApplied || st.FRR.Method != v1beta1.FRRIncremental || st.FRR.Generation != 1 || st.FRR.Hash == "" || st.FRR.Duration == nil {
			t.Errorf("frr status = %+v, want generation 1 applied incrementally with a hash and duration", st.FRR)
		}
		want := []v1beta1.BGPAnnouncement{{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.10/32"}}}
		if diff := cmp.Diff(want, st.BGPAnnouncements); diff != "" {
			t.Errorf("announcements (-want +got):\n%s", diff)
		}
		if s := st.BGPSessions; len(s) != 1 || s[0].PeerName != "router" || s[0].State != "Established" || s[0].UpSince == nil {
			t.Errorf("sessions = %+v, want router Established with upSince", s)
		}
		if c := st.Conditions; len(c) != 1 || c[0].Type != ConditionConfigAccepted || c[0].Status != metav1.ConditionTrue {
			t.Errorf("conditions = %+v, want ConfigAccepted True", c)
		}
		if b := st.BFDPeers; len(b) != 1 || b[0].State != "up" || b[0].DetectMultiplier != 3 {
			t.Errorf("bfd peers = %+v, want one up with multiplier 3", b)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		eventually(t, "session metric", func() bool {
			return metricSum(t, r.reg, "herald_bgp_session_up") == 1
		})
		if v := metricSum(t, r.reg, "herald_announced_addresses"); v != 1 {
			t.Errorf("herald_announced_addresses = %v, want 1", v)
		}
	})

	t.Run("unchanged model is not applied again", func(t *testing.T) {
		before := agent.count()
		// Changes the speaker sees but that change nothing it announces.
		var n corev1.Node
		if err := c.Get(context.Background(), client.ObjectKey{Name: "node2"}, &n); err != nil {
			t.Fatal(err)
		}
		n.Labels["unrelated"] = "yes"
		if err := c.Update(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "clusterip", Namespace: "default"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
		mustCreate(t, c, other)
		// Then a change that does: when it is applied, the others were
		// seen before it (events are delivered in order per kind, and
		// the speaker plans after each).
		lbService(t, c, "marker", "192.0.2.11")
		eventually(t, "marker advertised", func() bool { return len(agent.advertised("198.51.100.1")) == 2 })
		time.Sleep(200 * time.Millisecond)
		if n := agent.count() - before; n != 1 {
			t.Errorf("%d applies, want 1 (only the marker changes the model)", n)
		}
	})

	t.Run("a burst of changes is coalesced", func(t *testing.T) {
		// 20 Services, then their IPs all at once, as a controller
		// catching up writes them: the speaker applies far fewer configs
		// than changes.
		var svcs []*corev1.Service
		for i := 0; i < 20; i++ {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("burst%d", i), Namespace: "default"},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
			mustCreate(t, c, svc)
			svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: fmt.Sprintf("192.0.2.%d", 20+i)}}
			svcs = append(svcs, svc)
		}
		time.Sleep(200 * time.Millisecond) // Services with no IP change nothing
		before := agent.count()
		var wg sync.WaitGroup
		for _, svc := range svcs {
			wg.Go(func() {
				if err := c.Status().Update(context.Background(), svc); err != nil {
					t.Errorf("setting the status of service %s: %v", svc.Name, err)
				}
			})
		}
		wg.Wait()
		eventually(t, "22 prefixes", func() bool { return len(agent.advertised("198.51.100.1")) == 22 })
		n := agent.count() - before
		t.Logf("20 IPs written at once gave %d applies", n)
		if n >= 20 {
			t.Errorf("%d applies for 20 services, want them coalesced", n)
		}
	})

	t.Run("broken peer edit keeps the session and its routes", func(t *testing.T) {
		var p v1beta1.BGPPeer
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: "router"}, &p); err != nil {
			t.Fatal(err)
		}
		before := agent.count()
		p.Spec.BFDProfile = "typo"
		if err := c.Update(context.Background(), &p); err != nil {
			t.Fatal(err)
		}
		lbService(t, c, "after-typo", "192.0.2.50")
		eventually(t, "after-typo advertised", func() bool { return len(agent.advertised("198.51.100.1")) == 23 })
		eventually(t, "NodeState names the problem", func() bool {
			c := nodeState(t, c).Status.Conditions
			return len(c) == 1 && c[0].Status == metav1.ConditionFalse && strings.Contains(c[0].Message, `BFDProfile "typo" does not exist`)
		})
		got, _ := agent.last()
		if nb := got.Routers[0].Neighbors[0]; nb.BFDProfile != "fast" {
			t.Errorf("neighbor's BFD profile = %q, want the last good fast", nb.BFDProfile)
		}
		if agent.count()-before != 1 {
			t.Errorf("%d applies, want 1", agent.count()-before)
		}
		p.Spec.BFDProfile = "fast"
		if err := c.Update(context.Background(), &p); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a deleted NodeState is written again", func(t *testing.T) {
		old := nodeState(t, c)
		if err := c.Delete(context.Background(), &old); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the NodeState back", func() bool {
			ns := nodeState(t, c)
			return ns.UID != "" && ns.UID != old.UID && ns.Status.FRR != nil && len(ns.Status.BGPAnnouncements) == 1
		})
	})

	t.Run("withdraw on shutdown", func(t *testing.T) {
		r.stop()
		got, _ := agent.last()
		if len(got.Routers) != 1 || len(got.Routers[0].Neighbors) != 1 {
			t.Fatalf("last config %+v, want the peer kept", got)
		}
		if a := got.Routers[0].Neighbors[0].Advertise; len(a) != 0 || len(got.Routers[0].IPv4Networks) != 0 {
			t.Errorf("after shutdown the neighbor still gets %v", a)
		}
	})
}

func TestSpeakerAgentTrouble(t *testing.T) {
	cfg, c := apitest.Start(t)
	cluster(t, c)
	lbService(t, c, "web", "192.0.2.10")
	agent := &fakeAgent{fail: 2}
	// L2 status looks every 20ms and FRR's state every 30ms: a retry
	// must fire all the same.
	r := startSpeaker(t, cfg, agent, func(c *Config) {
		c.L2, c.L2Interval, c.StateInterval = &fakeL2{node: "node1"}, 20*time.Millisecond, 30*time.Millisecond
	})

	t.Run("a failed apply is retried", func(t *testing.T) {
		eventually(t, "applied after two failures", func() bool {
			ns := nodeState(t, c)
			return ns.Status.FRR != nil && ns.Status.FRR.Result == v1beta1.FRRApplied
		})
		if n := agent.count(); n != 3 {
			t.Errorf("%d applies, want 3 (two failed, one good)", n)
		}
		if v := metricSum(t, r.reg, "herald_speaker_agent_errors_total"); v != 2 {
			t.Errorf("herald_speaker_agent_errors_total = %v, want 2", v)
		}
	})

	t.Run("a rejected config is reported and not retried", func(t *testing.T) {
		agent.mu.Lock()
		agent.reject = func(c *frrconfig.Config) bool { return len(c.Routers) > 0 && len(c.Routers[0].IPv4Networks) > 1 }
		agent.mu.Unlock()
		before := agent.count()
		lbService(t, c, "rejected", "192.0.2.11")
		eventually(t, "NodeState says Rejected", func() bool {
			ns := nodeState(t, c)
			return ns.Status.FRR != nil && ns.Status.FRR.Result == v1beta1.FRRRejected
		})
		st := nodeState(t, c).Status.FRR
		if diff := cmp.Diff([]string{"line 12: neighbor 198.51.100.1 bogus: % Unknown command"}, st.RejectedLines); diff != "" {
			t.Errorf("rejected lines (-want +got):\n%s", diff)
		}
		time.Sleep(400 * time.Millisecond)
		if n := agent.count() - before; n != 1 {
			t.Errorf("%d applies after the rejection, want 1 (no retry of a rejected config)", n)
		}
	})
}

// metricSum is the sum of a gauge's or counter's series in reg.
func metricSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}
