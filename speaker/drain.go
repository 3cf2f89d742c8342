package speaker

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/speaker/planner"
)

// drainState is the speaker's account of this node's drain (Run's
// goroutine owns it). The planner says whether the node drains and
// which config each phase runs; the speaker keeps the times.
type drainState struct {
	reason string
	times  planner.DrainTimes
	phase  planner.DrainPhase
	// gshut and withdrawn are the configs offered for the two phases,
	// to recognise their applies among the outcomes.
	gshut, withdrawn *frrconfig.Config
	// withdrawFrom is when the withdraw step started.
	withdrawFrom time.Time
	steps        []v1beta1.DrainStep
	// drained: the withdrawal is done (or there was nothing to withdraw).
	drained bool
	// l2Done: this node answers for no Layer 2 address any more.
	l2Done bool
}

func (d *drainState) step(name string, from, to time.Time) {
	d.steps = append(d.steps, v1beta1.DrainStep{Name: name, Duration: metav1.Duration{Duration: to.Sub(from).Round(time.Millisecond)},
		Done: metav1.NewTime(to)})
}

func (d *drainState) describe() string {
	var parts []string
	for _, s := range d.steps {
		parts = append(parts, fmt.Sprintf("%s %s", s.Name, s.Duration.Duration))
	}
	if len(parts) == 0 {
		return "no step done yet"
	}
	return strings.Join(parts, ", ")
}

// status is the NodeState's account of the drain; nil when not draining.
func (d *drainState) status() *v1beta1.DrainStatus {
	if d == nil {
		return nil
	}
	st := &v1beta1.DrainStatus{Phase: v1beta1.DrainPhaseDraining, Reason: d.reason, Since: metav1.NewTime(d.times.Since),
		Steps: append([]v1beta1.DrainStep(nil), d.steps...)}
	if d.drained && d.l2Done {
		st.Phase = v1beta1.DrainPhaseDrained
	}
	return st
}

// drainLimit bounds how long a drain waits for FRR to run the
// graceful-shutdown config before it withdraws anyway.
func (s *Speaker) drainLimit() time.Duration { return s.cfg.WithdrawTimeout }

// drainConfig follows res's drain (starting or ending it) and returns the
// FRR config to offer now. It schedules the next look at the drain.
func (s *Speaker) drainConfig(res *planner.Result, now time.Time) frrconfig.Config {
	if res.Drain == "" {
		if s.drain != nil {
			s.cfg.Log.Info("no longer draining: announcing again", "reason", s.drain.reason, "steps", s.drain.describe())
			s.event(corev1.EventTypeNormal, "DrainEnded", "no longer draining (was: %s): announcing again; %s", s.drain.reason, s.drain.describe())
			s.drain = nil
			s.drainDue = time.Time{}
		}
		return s.withDefaults(res.Config)
	}
	if s.drain == nil {
		s.drain = &drainState{reason: res.Drain, times: planner.DrainTimes{Since: now}}
		s.drain.l2Done = s.cfg.L2 == nil
		s.drain.drained = s.cfg.Agent == nil
		s.cfg.Log.Info("draining", "reason", res.Drain, "wait", s.drainWait(res))
		s.event(corev1.EventTypeNormal, "Draining", "draining because %s: graceful shutdown for %s, then withdrawing; Layer 2 addresses handed over",
			res.Drain, s.drainWait(res))
	}
	d := s.drain
	d.reason = res.Drain
	phase, again := planner.NextDrainPhase(true, d.times, now, s.drainWait(res), s.drainLimit())
	if phase == planner.DrainWithdrawn && d.phase != planner.DrainWithdrawn {
		d.withdrawFrom = now
		if !d.times.GracefulShutdownAt.IsZero() {
			d.step(v1beta1.DrainStepWait, d.times.GracefulShutdownAt, now)
		}
	}
	d.phase = phase
	s.drainDue = time.Time{}
	if again > 0 {
		s.drainDue = now.Add(again)
	}
	cfg := s.withDefaults(planner.DrainConfig(res, phase))
	switch phase {
	case planner.DrainGracefulShutdown:
		d.gshut = &cfg
	case planner.DrainWithdrawn:
		d.withdrawn = &cfg
	}
	return cfg
}

// withDefaults puts the speaker's defaults in a planned config.
func (s *Speaker) withDefaults(cfg frrconfig.Config) frrconfig.Config {
	if cfg.RouteMapDelaySeconds == 0 {
		cfg.RouteMapDelaySeconds = s.cfg.RouteMapDelaySeconds
	}
	return cfg
}

// drainWait is how long the routers get to move off: DrainWait, or none
// when the node announced nothing.
func (s *Speaker) drainWait(res *planner.Result) time.Duration {
	if res.Undrained == nil {
		return 0
	}
	for _, r := range res.Undrained.Routers {
		if len(r.IPv4Networks)+len(r.IPv6Networks) > 0 {
			return max(s.cfg.DrainWait, 0)
		}
	}
	return 0
}

// drainApplied records that FRR runs cfg (an apply finished, or the
// config offered was already running): the end of the graceful-shutdown
// or the withdraw step. It reports whether the drain moved on.
func (s *Speaker) drainApplied(cfg *frrconfig.Config, now time.Time) bool {
	d := s.drain
	if d == nil || cfg == nil {
		return false
	}
	switch {
	case d.phase == planner.DrainGracefulShutdown && d.gshut != nil && sameConfig(cfg, d.gshut) && d.times.GracefulShutdownAt.IsZero():
		d.times.GracefulShutdownAt = now
		d.step(v1beta1.DrainStepGracefulShutdown, d.times.Since, now)
		s.cfg.Log.Info("draining: FRR announces in graceful shutdown", "took", now.Sub(d.times.Since))
		s.drainDue = now
		return true
	case d.phase == planner.DrainWithdrawn && d.withdrawn != nil && sameConfig(cfg, d.withdrawn) && !d.drained:
		d.drained = true
		d.step(v1beta1.DrainStepWithdraw, d.withdrawFrom, now)
		s.drainDone()
		return true
	}
	return false
}

// drainL2 records the end of the Layer 2 hand-over: this node answers for
// no address any more.
func (s *Speaker) drainL2(answering int, now time.Time) {
	d := s.drain
	if d == nil || d.l2Done || answering > 0 {
		return
	}
	d.l2Done = true
	d.step(v1beta1.DrainStepL2Handover, d.times.Since, now)
	s.drainDone()
}

// drainDone tells of a finished drain once both modes are done.
func (s *Speaker) drainDone() {
	d := s.drain
	if !d.drained || !d.l2Done {
		return
	}
	s.cfg.Log.Info("drained", "reason", d.reason, "steps", d.describe())
	s.event(corev1.EventTypeNormal, "Drained", "drained (%s) in %s: %s", d.reason,
		time.Since(d.times.Since).Round(time.Millisecond), d.describe())
}

// drainOnStop runs the drain before the speaker exits: the planner's
// config for a stopping speaker, graceful shutdown for DrainWait, then
// nothing announced, each step applied here (the apply goroutine has
// ended). Layer 2 hands its addresses over on its own (l2.Node). It
// replaces an unfinished drain's remaining steps, keeping its times.
func (s *Speaker) drainOnStop() {
	var res planner.Result
	switch {
	case s.snap != nil:
		snap := *s.snap
		snap.Stopping = true
		snap.LastGood = s.lastGood
		res = planner.Plan(&snap, s.cfg.Node)
	case s.desired != nil:
		// Never planned from the cluster: drain what was offered.
		res = planner.Result{Drain: planner.ReasonStopping, Undrained: s.desired, Config: planner.GracefulShutdown(s.desired)}
		res.Config = frrconfig.Withdrawn(&res.Config)
	default:
		return
	}
	started := s.drain == nil
	for {
		now := time.Now()
		cfg := s.drainConfig(&res, now)
		if started {
			// Layer 2 hands over in l2.Node as the process ends: not
			// the speaker's to wait for.
			s.drain.l2Done, started = true, false
		}
		if s.applied != nil && sameConfig(s.applied, &cfg) && s.frr != nil && s.frr.Result == v1beta1.FRRApplied {
			s.drainApplied(&cfg, now)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WithdrawTimeout)
			o := s.applyOnce(ctx, &cfg)
			cancel()
			s.record(o)
		}
		if s.drain.phase == planner.DrainWithdrawn {
			s.cfg.Log.Info("withdrew this node's prefixes before exiting", "result", s.frr.Result, "steps", s.drain.describe())
			break
		}
		// Graceful shutdown runs: wait for the routers to move off.
		if again := time.Until(s.drainDue); again > 0 {
			time.Sleep(again)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s.wroteAt = time.Time{}
	s.writeStatus(ctx)
}
