package speaker

import (
	"context"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/speaker/health"
	"github.com/heraldlb/herald/speaker/planner"
)

// healthGates gives the planner the nodes gated for each Service: this
// node's from its own checks (fresher than its NodeState), the others'
// from their NodeStates. A Service another node announces all the same
// (fail-open) still counts as gated there.
func (s *Speaker) healthGates(ctx context.Context, snap *planner.Snapshot) (planner.HealthGates, error) {
	lbClass := s.cfg.LBClass
	targets, invalid := health.Targets(snap.Services, snap.EndpointSlices, s.cfg.Node,
		func(svc *corev1.Service) bool { return planner.Served(svc, lbClass) })
	s.health.Set(targets)
	s.logInvalidChecks(invalid)
	var states v1beta1.NodeStateList
	if err := s.cfg.Reader.List(ctx, &states, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing NodeStates: %w", err)
	}
	gates := planner.HealthGates{}
	for i := range states.Items {
		ns := &states.Items[i]
		if ns.Name == s.cfg.Node {
			continue
		}
		for _, g := range ns.Status.HealthGated {
			gates[g.Service] = append(gates[g.Service], ns.Name)
		}
	}
	s.gated = s.health.Gated()
	for svc := range s.gated {
		gates[svc] = append(gates[svc], s.cfg.Node)
	}
	for k := range gates {
		sort.Strings(gates[k])
	}
	return gates, nil
}

// logInvalidChecks logs Services whose check annotations do not parse when
// the set changes; the controller reports them on the Services.
func (s *Speaker) logInvalidChecks(invalid []health.Invalid) {
	set := make(map[string]string, len(invalid))
	for _, in := range invalid {
		set[in.Service] = in.Err.Error()
	}
	changed := len(set) != len(s.invalidChecks)
	for k, v := range set {
		if s.invalidChecks[k] != v {
			changed = true
		}
	}
	s.invalidChecks = set
	if !changed {
		return
	}
	for _, in := range invalid {
		s.cfg.Log.Info("invalid health check: announcing the Service as if it had none", "service", in.Service, "problem", in.Err.Error())
	}
}

// healthStatus is NodeState's .status.healthGated: this node's gated
// Services, with whether it announces them all the same (fail-open).
func (s *Speaker) healthStatus() []v1beta1.HealthGate {
	if len(s.gated) == 0 {
		return nil
	}
	out := make([]v1beta1.HealthGate, 0, len(s.gated))
	for svc, st := range s.gated {
		failOpen := slices.ContainsFunc(s.plan.Health, func(h planner.HealthGate) bool { return h.Service == svc && h.FailOpen })
		out = append(out, v1beta1.HealthGate{Service: svc, Reason: st.LastError, Since: metav1.NewTime(st.Since), Announcing: failOpen})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}
