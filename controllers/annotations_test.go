package controllers

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/heraldlb/herald/internal/drill"
	"github.com/heraldlb/herald/speaker/health"
)

// TestAnnotationReports: herald's Service annotations that do not parse (a
// health check; a drill edited by hand, which kubectl herald drill never
// writes) are each reported once by a Warning event naming the annotation,
// again only when they change to another mistake or come back after a fix,
// and never when they parse (an expired drill included).
func TestAnnotationReports(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	var h annotationReports
	steps := []struct {
		name string
		ann  map[string]string
		want []string // the reasons of the events expected, sorted
	}{
		{"no annotation", nil, nil},
		{"a port that is not a number", map[string]string{health.AnnotationCheck: "tcp:http"}, []string{ReasonInvalidHealthCheck}},
		{"the same again (next reconcile)", map[string]string{health.AnnotationCheck: "tcp:http"}, nil},
		{"another mistake", map[string]string{health.AnnotationCheck: "udp:53"}, []string{ReasonInvalidHealthCheck}},
		{"fixed", map[string]string{health.AnnotationCheck: "tcp:8080"}, nil},
		{"the first mistake again", map[string]string{health.AnnotationCheck: "tcp:http"}, []string{ReasonInvalidHealthCheck}},
		{"a drill (expired) and a good check", map[string]string{drill.Annotation: "node1,2026-12-07T19:00:00Z", health.AnnotationCheck: "tcp:8080"}, nil},
		{"a drill with no expiry", map[string]string{drill.Annotation: "node1"}, []string{ReasonInvalidDrill}},
		{"the same again", map[string]string{drill.Annotation: "node1"}, nil},
		{"an expiry that is not a time", map[string]string{drill.Annotation: "node1,tomorrow"}, []string{ReasonInvalidDrill}},
		{"a valid drill again", map[string]string{drill.Annotation: "node1,2026-12-07T19:00:00Z"}, nil},
		{"both wrong", map[string]string{drill.Annotation: "node1", health.AnnotationCheck: "tcp:http"}, []string{ReasonInvalidDrill, ReasonInvalidHealthCheck}},
	}
	for _, st := range steps {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: st.ann}}
		h.check(rec, "default/web", svc)
		var reasons []string
		for len(rec.Events) > 0 {
			e := <-rec.Events
			for _, r := range []string{ReasonInvalidDrill, ReasonInvalidHealthCheck} {
				if strings.Contains(e, r) {
					reasons = append(reasons, r)
					if key := map[string]string{ReasonInvalidDrill: drill.Annotation, ReasonInvalidHealthCheck: health.AnnotationCheck}[r]; !strings.Contains(e, key) {
						t.Errorf("%s: event %q does not name the annotation %s", st.name, e, key)
					}
				}
			}
		}
		slices.Sort(reasons)
		if !slices.Equal(reasons, st.want) {
			t.Errorf("%s: events %v, want %v", st.name, reasons, st.want)
		}
	}
}
