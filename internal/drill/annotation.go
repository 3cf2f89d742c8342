package drill

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Annotation is the Service annotation asking a node to give the Service
// up for a drill.
const Annotation = "heraldlb.io/drill"

// MaxDuration bounds how far in the future an expiry may be: an annotation
// asking for longer is refused (not honoured), so that a typo cannot keep
// a node out of a Service for days.
const MaxDuration = time.Hour

// Drill is a parsed drill annotation.
type Drill struct {
	// Node is the node giving the Service up.
	Node string
	// Expiry is when the drill ends by itself.
	Expiry time.Time
}

// String renders d as the annotation's value.
func (d Drill) String() string {
	return d.Node + "," + d.Expiry.UTC().Format(time.RFC3339Nano)
}

// Active reports whether d is in force at now: before its expiry and not
// further than MaxDuration ahead of now.
func (d Drill) Active(now time.Time) bool {
	return now.Before(d.Expiry) && !d.Expiry.After(now.Add(MaxDuration))
}

// Parse parses an annotation value. The error names the annotation, what
// is wrong and the expected form.
func Parse(value string) (Drill, error) {
	node, exp, ok := strings.Cut(strings.TrimSpace(value), ",")
	node, exp = strings.TrimSpace(node), strings.TrimSpace(exp)
	if !ok || node == "" || exp == "" {
		return Drill{}, fmt.Errorf("annotation %s: %q: want NODE,EXPIRY with EXPIRY an RFC 3339 time (e.g. node1,2026-12-07T19:00:00Z)", Annotation, value)
	}
	if errs := validation.IsDNS1123Subdomain(node); len(errs) > 0 {
		return Drill{}, fmt.Errorf("annotation %s: node %q is not a node name: %s", Annotation, node, strings.Join(errs, "; "))
	}
	t, err := time.Parse(time.RFC3339Nano, exp)
	if err != nil {
		return Drill{}, fmt.Errorf("annotation %s: expiry %q is not an RFC 3339 time (e.g. 2026-12-07T19:00:00Z): %w", Annotation, exp, err)
	}
	return Drill{Node: node, Expiry: t}, nil
}

// Of returns the drill annotated on a Service (its annotations), if any
// parses; ok is false when there is none, err set when it does not parse.
func Of(annotations map[string]string) (d Drill, ok bool, err error) {
	v, has := annotations[Annotation]
	if !has {
		return Drill{}, false, nil
	}
	d, err = Parse(v)
	if err != nil {
		return Drill{}, false, err
	}
	return d, true, nil
}
