package planner

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/frrconfig"
)

// UnschedulableTaint is the taint Kubernetes puts on a cordoned node
// (`kubectl cordon`, spec.unschedulable).
const UnschedulableTaint = "node.kubernetes.io/unschedulable"

// DefaultDrainTaints are the taint keys a node drains for by default:
// cordoning. (The exclude label drains a node whatever the taints.)
func DefaultDrainTaints() []string { return []string{UnschedulableTaint} }

// ReasonStopping is Result.Drain for a node whose speaker is stopping.
const ReasonStopping = "its speaker is stopping"

// DrainReason says why node n drains, or "" when it does not: it is
// labelled ExcludeLabel; it is cordoned (spec.unschedulable) and taints
// holds UnschedulableTaint; or it has a NoSchedule or NoExecute taint whose
// key taints holds. taints nil means DefaultDrainTaints.
func DrainReason(n *corev1.Node, taints []string) string {
	if n == nil {
		return ""
	}
	if _, ok := n.Labels[ExcludeLabel]; ok {
		return "it is labelled " + ExcludeLabel
	}
	if taints == nil {
		taints = DefaultDrainTaints()
	}
	if n.Spec.Unschedulable && slices.Contains(taints, UnschedulableTaint) {
		return "it is cordoned"
	}
	for _, t := range n.Spec.Taints {
		if (t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute) && slices.Contains(taints, t.Key) {
			return "it has the taint " + t.Key + ":" + string(t.Effect)
		}
	}
	return ""
}

// DrainPhase is the step a draining node is at.
type DrainPhase string

// The drain phases, in order.
const (
	// DrainNone: the node does not drain; it announces Result.Config.
	DrainNone DrainPhase = ""
	// DrainGracefulShutdown: the node announces what it did, in graceful
	// shutdown (65535:0 to eBGP peers, LOCAL_PREF 0 to iBGP peers), while
	// the routers move their traffic to other paths.
	DrainGracefulShutdown DrainPhase = "GracefulShutdown"
	// DrainWithdrawn: the node announces nothing (Result.Config).
	DrainWithdrawn DrainPhase = "Withdrawn"
)

// DrainTimes are the instants of one drain the speaker saw.
type DrainTimes struct {
	// Since is when the node started draining.
	Since time.Time
	// GracefulShutdownAt is when FRR ran the graceful-shutdown config;
	// zero while it does not yet.
	GracefulShutdownAt time.Time
}

// NextDrainPhase decides the step of a drain at now, and how long until it
// may change (0: it will not change with time alone). A node that drains
// announces in graceful shutdown from Since until wait after FRR ran that
// config, then withdraws. If FRR has not run it limit after Since (the
// agent is down or slow), the node withdraws anyway; wait 0 withdraws at
// once.
func NextDrainPhase(draining bool, t DrainTimes, now time.Time, wait, limit time.Duration) (DrainPhase, time.Duration) {
	if !draining {
		return DrainNone, 0
	}
	if wait <= 0 {
		return DrainWithdrawn, 0
	}
	if t.GracefulShutdownAt.IsZero() {
		if left := t.Since.Add(limit).Sub(now); left > 0 {
			return DrainGracefulShutdown, left
		}
		return DrainWithdrawn, 0
	}
	if left := t.GracefulShutdownAt.Add(wait).Sub(now); left > 0 {
		return DrainGracefulShutdown, left
	}
	return DrainWithdrawn, 0
}

// DrainConfig is the FRR config for a phase of res's drain: what the node
// announced, in graceful shutdown, for DrainGracefulShutdown; res.Config
// otherwise (the drained config when res.Drain is set).
func DrainConfig(res *Result, phase DrainPhase) frrconfig.Config {
	if phase != DrainGracefulShutdown || res.Undrained == nil {
		return res.Config
	}
	return GracefulShutdown(res.Undrained)
}

// GracefulShutdown returns cfg with every router in graceful shutdown.
func GracefulShutdown(cfg *frrconfig.Config) frrconfig.Config {
	out := *cfg
	out.Routers = slices.Clone(cfg.Routers)
	for i := range out.Routers {
		out.Routers[i].GracefulShutdown = true
	}
	return out
}
