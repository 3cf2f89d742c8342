package speaker

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/speaker/planner"
)

// Event reasons of drills, recorded on the drilled Service.
const (
	// ReasonDrillStarted: this node gives the Service up for a drill.
	ReasonDrillStarted = "DrillStarted"
	// ReasonDrillEnded: this node announces the Service again.
	ReasonDrillEnded = "DrillEnded"
)

// drillSlack is added to a drill's expiry before planning again, so that
// the plan made then sees the drill expired.
const drillSlack = 5 * time.Millisecond

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// followDrills arms the timer for the next drill expiry (the plan must be
// made again then, even if nothing else changes: a drill whose kubectl was
// killed ends by itself), and records an event on each Service this node
// starts or stops giving up.
func (s *Speaker) followDrills(snap *planner.Snapshot, res *planner.Result) {
	s.drillTimer.Stop()
	if !res.DrillsChange.IsZero() {
		s.drillTimer.Reset(time.Until(res.DrillsChange) + drillSlack)
	}
	old := s.drills
	s.drills = res.Drills
	has := func(ds []planner.Drilled, d planner.Drilled) bool {
		return slices.ContainsFunc(ds, func(o planner.Drilled) bool { return o.Service == d.Service })
	}
	for _, d := range res.Drills {
		if !has(old, d) {
			s.cfg.Log.Info("drill: giving the Service up", "service", d.Service, "until", d.Expiry)
			s.serviceEvent(snap, d.Service, corev1.EventTypeNormal, ReasonDrillStarted,
				"node %s gives the Service up for a drill until %s: it neither announces it by BGP nor answers for it in Layer 2 mode",
				s.cfg.Node, d.Expiry.UTC().Format(time.RFC3339))
		}
	}
	for _, d := range old {
		if !has(res.Drills, d) {
			s.cfg.Log.Info("drill: announcing the Service again", "service", d.Service)
			s.serviceEvent(snap, d.Service, corev1.EventTypeNormal, ReasonDrillEnded,
				"node %s announces the Service again: the drill ended", s.cfg.Node)
		}
	}
}

// serviceEvent records an event on the Service key (namespace/name).
func (s *Speaker) serviceEvent(snap *planner.Snapshot, key, eventType, reason, format string, args ...any) {
	if s.cfg.Events == nil {
		return
	}
	for i := range snap.Services {
		svc := &snap.Services[i]
		if svc.Namespace+"/"+svc.Name == key {
			ref := &corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: svc.Namespace, Name: svc.Name, UID: svc.UID}
			s.cfg.Events.Eventf(ref, eventType, reason, format, args...)
			return
		}
	}
}
