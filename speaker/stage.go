package speaker

import (
	"fmt"
	"time"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
)

// rollout is a plan's new BGP neighbors being added a few per apply
// (Config.StageNeighbors): each step is planned from the latest cluster
// state and the last config applied, so a Service change made meanwhile
// goes with the next step instead of waiting for every neighbor.
type rollout struct {
	// base is the config FRR ran when the rollout began; the neighbors
	// counted are the plan's that base has not.
	base *frrconfig.Config
	// since is when it began.
	since time.Time
}

// progress says how many of planned's new neighbors (since base) step
// has, of how many.
func (r *rollout) progress(step, planned *frrconfig.Config) (done, total int) {
	_, d := frrconfig.StageNeighbors(r.base, r.base, step, 0)
	_, t := frrconfig.StageNeighbors(r.base, r.base, planned, 0)
	return d.Added, t.Added
}

// message is the NodeState's account of a step applied.
func (r *rollout) message(step, planned *frrconfig.Config, per int) string {
	done, total := r.progress(step, planned)
	return fmt.Sprintf("adding BGP neighbors %d/%d (%d per apply, so that Service changes and BFD are not held up); "+
		"FRR runs the plan's prefixes and other changes; the new neighbors get their prefixes with the last step", done, total, per)
}

// stage returns the config to offer for the planned cfg: cfg itself, or,
// when it adds more than StageNeighbors neighbors to the config applied
// last, the next step towards it (frrconfig.StageNeighbors, from the
// config FRR ran when the rollout began), starting a rollout. Nothing is staged before the speaker's first apply (it does not
// know what FRR runs: a restarted speaker's FRR may run every neighbor
// already, and a step would remove them) nor while draining.
func (s *Speaker) stage(cfg *frrconfig.Config) *frrconfig.Config {
	per := s.cfg.StageNeighbors
	if s.applied == nil || s.drain != nil || per < 0 {
		return cfg
	}
	base := s.applied
	if s.rollout != nil {
		base = s.rollout.base
	}
	step, st := frrconfig.StageNeighbors(base, s.applied, cfg, per)
	if st.Deferred == 0 {
		return cfg
	}
	if s.rollout == nil {
		s.rollout = &rollout{base: s.applied, since: time.Now()}
		_, total := s.rollout.progress(cfg, cfg)
		s.cfg.Log.Info("adding BGP neighbors a few per apply", "new", total, "perApply", per)
	}
	return &step
}

// stepApplied takes an applied config into the rollout: the plan's last
// step ends it; an earlier one makes the status Progressing (the plan is
// not applied yet) and asks for the next step, planned from the cluster
// as it is now. It reports whether the rollout goes on.
func (s *Speaker) stepApplied(o *applyOutcome) bool {
	r := s.rollout
	if r == nil || o.status.Result != v1beta1.FRRApplied {
		return false
	}
	if s.target != nil && sameConfig(o.cfg, s.target) {
		_, total := r.progress(o.cfg, o.cfg)
		s.cfg.Log.Info("the plan's new BGP neighbors are applied", "new", total, "took", time.Since(r.since).Round(time.Millisecond))
		s.rollout = nil
		return false
	}
	st := *o.status
	st.Result = v1beta1.FRRProgressing
	st.Message = r.message(o.cfg, s.target, s.cfg.StageNeighbors)
	o.status = &st
	done, total := r.progress(o.cfg, s.target)
	s.cfg.Log.Info("applied a step of the BGP neighbors", "generation", st.Generation, "neighbors", fmt.Sprintf("%d/%d", done, total))
	s.Trigger()
	return true
}
