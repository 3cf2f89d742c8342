package planner

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/drill"
)

// TestDrill checks that a node named by an unexpired drill annotation
// neither announces the Service by BGP nor is eligible for its IP in
// Layer 2 mode, that the other nodes and Services are untouched, and that
// an expired, malformed or unjudged (zero Now) annotation changes nothing.
func TestDrill(t *testing.T) {
	now := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	ann := func(v string) func(*Snapshot) {
		return func(s *Snapshot) {
			s.Services[0].Annotations = map[string]string{drill.Annotation: v}
		}
	}
	inForce := drill.Drill{Node: "node1", Expiry: now.Add(time.Minute)}.String()
	type want struct {
		// BGP maps each node to the prefixes it sends the router.
		BGP map[string][]netip.Prefix
		// L2Nodes are the nodes eligible for 192.0.2.10 (seen from node2).
		L2Nodes []string
		// Drills are node1's drills; Change the earliest expiry.
		Drills []Drilled
		Change time.Time
	}
	all := map[string][]netip.Prefix{"node1": pfxs("192.0.2.10/32", "192.0.2.11/32"),
		"node2": pfxs("192.0.2.10/32", "192.0.2.11/32"), "node3": pfxs("192.0.2.10/32", "192.0.2.11/32")}
	untouched := want{BGP: all, L2Nodes: []string{"node1", "node2", "node3"}}
	for _, tc := range []struct {
		name string
		now  time.Time
		mod  func(*Snapshot)
		want want
	}{
		{name: "no annotation", now: now, mod: func(*Snapshot) {}, want: untouched},
		{name: "in force", now: now, mod: ann(inForce), want: want{
			BGP: map[string][]netip.Prefix{"node1": pfxs("192.0.2.11/32"),
				"node2": pfxs("192.0.2.10/32", "192.0.2.11/32"), "node3": pfxs("192.0.2.10/32", "192.0.2.11/32")},
			L2Nodes: []string{"node2", "node3"},
			Drills:  []Drilled{{Service: "default/web", Node: "node1", Expiry: now.Add(time.Minute)}},
			Change:  now.Add(time.Minute),
		}},
		{name: "another node drilled", now: now, mod: ann(drill.Drill{Node: "node3", Expiry: now.Add(time.Minute)}.String()), want: want{
			BGP: map[string][]netip.Prefix{"node1": pfxs("192.0.2.10/32", "192.0.2.11/32"),
				"node2": pfxs("192.0.2.10/32", "192.0.2.11/32"), "node3": pfxs("192.0.2.11/32")},
			L2Nodes: []string{"node1", "node2"},
			Change:  now.Add(time.Minute),
		}},
		{name: "expired", now: now.Add(time.Minute), mod: ann(inForce), want: untouched},
		{name: "zero now honours none", mod: ann(inForce), want: untouched},
		{name: "too far ahead", now: now, mod: ann(drill.Drill{Node: "node1", Expiry: now.Add(drill.MaxDuration + time.Second)}.String()), want: untouched},
		{name: "malformed", now: now, mod: ann("node1"), want: untouched},
		{name: "unknown node", now: now, mod: ann(drill.Drill{Node: "node9", Expiry: now.Add(time.Minute)}.String()),
			want: want{BGP: all, L2Nodes: []string{"node1", "node2", "node3"}, Change: now.Add(time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := base()
			snap.Services = append(snap.Services, svc("api", corev1.ServiceExternalTrafficPolicyCluster, "192.0.2.11"))
			snap.L2Advertisements = []v1beta1.L2Advertisement{{ObjectMeta: meta("l2")}}
			snap.Now = tc.now
			tc.mod(&snap)
			var got want
			got.BGP = map[string][]netip.Prefix{}
			for _, n := range []string{"node1", "node2", "node3"} {
				res := Plan(&snap, n)
				for _, nb := range res.Neighbors {
					got.BGP[n] = append(got.BGP[n], nb.Prefixes...)
				}
				if n == "node1" {
					got.Drills, got.Change = res.Drills, res.DrillsChange
				}
				if n == "node2" {
					for _, l := range res.L2 {
						if l.IP == addr("192.0.2.10") {
							got.L2Nodes = l.Nodes
						}
					}
				}
			}
			if diff := cmp.Diff(tc.want, got, cmpAddrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
