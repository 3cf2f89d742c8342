package planner

import (
	"sort"
	"time"

	"github.com/heraldlb/herald/internal/drill"
)

// Drilled is a Service a node gives up for a drill (the Service annotation
// drill.Annotation naming it, unexpired at Snapshot.Now).
type Drilled struct {
	// Service is the Service, namespace/name.
	Service string
	// Node is the node giving it up.
	Node string
	// Expiry is when the drill ends by itself.
	Expiry time.Time
}

// drills are the drills in force at snap.Now, by Service key. A zero Now
// honours none: callers that ask who may announce a Service at all (kubectl
// herald drill, why, diff) leave it zero.
func drills(snap *Snapshot) map[string]Drilled {
	if snap.Now.IsZero() {
		return nil
	}
	var out map[string]Drilled
	for i := range snap.Services {
		s := &snap.Services[i]
		d, ok, err := drill.Of(s.Annotations)
		if err != nil || !ok || !d.Active(snap.Now) {
			// A malformed annotation is not honoured: kubectl herald
			// drill writes only valid ones.
			continue
		}
		if out == nil {
			out = map[string]Drilled{}
		}
		key := s.Namespace + "/" + s.Name
		out[key] = Drilled{Service: key, Node: d.Node, Expiry: d.Expiry}
	}
	return out
}

// drilledOn reports whether node gives the Service key up for a drill.
func (w *world) drilledOn(key, node string) bool {
	d, ok := w.drills[key]
	return ok && d.Node == node
}

// drillResult lists the drills node takes part in, sorted by Service, and
// the earliest expiry of any drill in force (each node's Layer 2 view
// depends on every node's drills): the caller plans again then.
func (w *world) drillResult(node string) (mine []Drilled, next time.Time) {
	for _, d := range w.drills {
		if d.Node == node {
			mine = append(mine, d)
		}
		if next.IsZero() || d.Expiry.Before(next) {
			next = d.Expiry
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Service < mine[j].Service })
	return mine, next
}
