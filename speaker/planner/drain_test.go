package planner

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
)

func TestDrainReason(t *testing.T) {
	taint := func(key string, effect corev1.TaintEffect) func(*corev1.Node) {
		return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: effect}) }
	}
	tests := []struct {
		name   string
		mod    []func(*corev1.Node)
		taints []string
		want   string
	}{
		{name: "a plain node does not drain"},
		{name: "cordoned", mod: []func(*corev1.Node){func(n *corev1.Node) { n.Spec.Unschedulable = true }}, want: "it is cordoned"},
		{name: "cordoned, but the unschedulable taint is not a drain taint",
			mod: []func(*corev1.Node){func(n *corev1.Node) { n.Spec.Unschedulable = true }}, taints: []string{}},
		{name: "the unschedulable taint", mod: []func(*corev1.Node){taint(UnschedulableTaint, corev1.TaintEffectNoSchedule)},
			want: "it has the taint node.kubernetes.io/unschedulable:NoSchedule"},
		{name: "a configured NoExecute taint", mod: []func(*corev1.Node){taint("example.com/maintenance", corev1.TaintEffectNoExecute)},
			taints: []string{"example.com/maintenance"}, want: "it has the taint example.com/maintenance:NoExecute"},
		{name: "a configured taint with effect PreferNoSchedule does not drain",
			mod: []func(*corev1.Node){taint("example.com/maintenance", corev1.TaintEffectPreferNoSchedule)}, taints: []string{"example.com/maintenance"}},
		{name: "a taint not configured does not drain", mod: []func(*corev1.Node){taint("example.com/other", corev1.TaintEffectNoSchedule)}},
		{name: "the exclude label drains whatever the taints",
			mod: []func(*corev1.Node){func(n *corev1.Node) { n.Labels[ExcludeLabel] = "" }}, taints: []string{},
			want: "it is labelled " + ExcludeLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := node("node1")
			for _, m := range tt.mod {
				m(&n)
			}
			if got := DrainReason(&n, tt.taints); got != tt.want {
				t.Errorf("DrainReason = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNextDrainPhase(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	wait, limit := 5*time.Second, 15*time.Second
	tests := []struct {
		name      string
		draining  bool
		times     DrainTimes
		now       time.Time
		wait      time.Duration
		want      DrainPhase
		wantAgain time.Duration
	}{
		{name: "not draining", times: DrainTimes{Since: t0}, now: t0, wait: wait, want: DrainNone},
		{name: "drain starts: graceful shutdown, until FRR runs it", draining: true, times: DrainTimes{Since: t0}, now: t0, wait: wait,
			want: DrainGracefulShutdown, wantAgain: limit},
		{name: "FRR runs it: wait from then", draining: true, times: DrainTimes{Since: t0, GracefulShutdownAt: t0.Add(time.Second)},
			now: t0.Add(2 * time.Second), wait: wait, want: DrainGracefulShutdown, wantAgain: 4 * time.Second},
		{name: "the wait is over: withdrawn", draining: true, times: DrainTimes{Since: t0, GracefulShutdownAt: t0.Add(time.Second)},
			now: t0.Add(6 * time.Second), wait: wait, want: DrainWithdrawn},
		{name: "FRR never ran it: withdrawn after the limit", draining: true, times: DrainTimes{Since: t0},
			now: t0.Add(limit), wait: wait, want: DrainWithdrawn},
		{name: "no wait: withdrawn at once", draining: true, times: DrainTimes{Since: t0}, now: t0, wait: 0, want: DrainWithdrawn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, again := NextDrainPhase(tt.draining, tt.times, tt.now, tt.wait, limit)
			if got != tt.want || again != tt.wantAgain {
				t.Errorf("NextDrainPhase = %q, %v; want %q, %v", got, again, tt.want, tt.wantAgain)
			}
		})
	}
}

// TestPlanDrain: a draining node's Config is the drained one, Undrained
// what it announced, and DrainConfig gives each phase's config; the other
// nodes take its Layer 2 IPs at once.
func TestPlanDrain(t *testing.T) {
	cordon := func(s *Snapshot) { s.Nodes[0].Spec.Unschedulable = true }
	l2 := func(s *Snapshot) {
		s.L2Advertisements = []v1beta1.L2Advertisement{{ObjectMeta: meta("l2")}}
	}
	announcing := frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
		Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}}
	gshut := frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"), GracefulShutdown: true,
		Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}}
	drained := frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, GracefulShutdown: true,
		Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500")}}}}
	tests := []struct {
		name        string
		mod         []func(*Snapshot)
		node        string
		wantDrain   string
		wantPhases  map[DrainPhase]frrconfig.Config
		wantL2Nodes []string
	}{
		{name: "a node not draining announces", mod: []func(*Snapshot){l2}, node: "node1",
			wantPhases:  map[DrainPhase]frrconfig.Config{DrainNone: announcing},
			wantL2Nodes: []string{"node1", "node2", "node3"}},
		{name: "cordoned: graceful shutdown, then withdrawn; not eligible for Layer 2", mod: []func(*Snapshot){l2, cordon}, node: "node1",
			wantDrain:   "it is cordoned",
			wantPhases:  map[DrainPhase]frrconfig.Config{DrainGracefulShutdown: gshut, DrainWithdrawn: drained},
			wantL2Nodes: []string{"node2", "node3"}},
		{name: "another node cordoned: this one announces as before", mod: []func(*Snapshot){l2, cordon}, node: "node2",
			wantPhases:  map[DrainPhase]frrconfig.Config{DrainNone: announcing},
			wantL2Nodes: []string{"node2", "node3"}},
		{name: "the speaker stopping: drains BGP; Layer 2 goes through the membership", node: "node1",
			mod:         []func(*Snapshot){l2, func(s *Snapshot) { s.Stopping = true }},
			wantDrain:   ReasonStopping,
			wantPhases:  map[DrainPhase]frrconfig.Config{DrainGracefulShutdown: gshut, DrainWithdrawn: drained},
			wantL2Nodes: []string{"node1", "node2", "node3"}},
		{name: "NetworkUnavailable stops at once, no drain", node: "node1",
			mod: []func(*Snapshot){l2, cordon, func(s *Snapshot) {
				s.Nodes[0].Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue}}
			}},
			wantPhases: map[DrainPhase]frrconfig.Config{DrainNone: {Routers: []frrconfig.Router{{ASN: 64512,
				Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500")}}}}},
			wantL2Nodes: []string{"node2", "node3"}},
	}
	opts := cmp.Options{cmpopts.EquateEmpty(), ignoreFamilies, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			for _, m := range tt.mod {
				m(&s)
			}
			got := Plan(&s, tt.node)
			if got.Drain != tt.wantDrain {
				t.Errorf("Drain = %q, want %q", got.Drain, tt.wantDrain)
			}
			for phase, want := range tt.wantPhases {
				cfg := DrainConfig(&got, phase)
				if diff := cmp.Diff(want, cfg, opts); diff != "" {
					t.Errorf("config of phase %q (-want +got):\n%s", phase, diff)
				}
				if err := cfg.Validate(); err != nil {
					t.Errorf("the config of phase %q does not validate: %v", phase, err)
				}
			}
			if len(got.L2) != 1 {
				t.Fatalf("L2 = %v, want one IP", got.L2)
			}
			if diff := cmp.Diff(tt.wantL2Nodes, got.L2[0].Nodes); diff != "" {
				t.Errorf("Layer 2 eligible nodes (-want +got):\n%s", diff)
			}
			if tt.wantDrain != "" {
				for _, n := range got.Neighbors {
					if len(n.Prefixes) > 0 {
						t.Errorf("neighbor %s of a drained node still lists prefixes %v", n.Key, n.Prefixes)
					}
				}
			}
		})
	}
}
