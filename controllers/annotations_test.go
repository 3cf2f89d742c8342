package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/heraldlb/herald/internal/drill"
	"github.com/heraldlb/herald/speaker/health"
)

// TestHealthCheckReport: a health-check annotation that does not parse is
// reported once by a Warning event naming the annotation, again only when
// its value changes, and not at all once fixed.
func TestHealthCheckReport(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	var h annotationReports
	svc := func(ann map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: ann}}
	}
	steps := []struct {
		name  string
		ann   map[string]string
		event bool
	}{
		{"no check", nil, false},
		{"a port that is not a number", map[string]string{health.AnnotationCheck: "tcp:http"}, true},
		{"the same again (next reconcile)", map[string]string{health.AnnotationCheck: "tcp:http"}, false},
		{"another mistake", map[string]string{health.AnnotationCheck: "udp:53"}, true},
		{"fixed", map[string]string{health.AnnotationCheck: "tcp:8080"}, false},
		{"the first mistake again", map[string]string{health.AnnotationCheck: "tcp:http"}, true},
	}
	for _, st := range steps {
		h.check(rec, "default/web", svc(st.ann))
		select {
		case e := <-rec.Events:
			if !st.event {
				t.Errorf("%s: unexpected event %q", st.name, e)
			} else if !strings.Contains(e, ReasonInvalidHealthCheck) || !strings.Contains(e, health.AnnotationCheck) {
				t.Errorf("%s: event %q does not give the reason and name the annotation", st.name, e)
			}
		default:
			if st.event {
				t.Errorf("%s: no event", st.name)
			}
		}
	}
}

// TestDrillAnnotationReport: a malformed heraldlb.io/drill annotation (one
// kubectl herald drill never writes: edited by hand) gets one Warning
// event naming the annotation, again after a fix and a new mistake, and
// none for a valid or expired drill.
func TestDrillAnnotationReport(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	var h annotationReports
	svc := func(ann map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: ann}}
	}
	steps := []struct {
		name  string
		ann   map[string]string
		event bool
	}{
		{"no drill", nil, false},
		{"a drill", map[string]string{drill.Annotation: "node1,2026-12-07T19:00:00Z"}, false},
		{"no expiry", map[string]string{drill.Annotation: "node1"}, true},
		{"the same again (next reconcile)", map[string]string{drill.Annotation: "node1"}, false},
		{"an expiry that is not a time", map[string]string{drill.Annotation: "node1,tomorrow"}, true},
		{"a valid drill again", map[string]string{drill.Annotation: "node1,2026-12-07T19:00:00Z"}, false},
		{"a bad health check too", map[string]string{drill.Annotation: "node1", health.AnnotationCheck: "tcp:http"}, true},
	}
	for _, st := range steps {
		h.check(rec, "default/web", svc(st.ann))
		var got []string
		for len(rec.Events) > 0 {
			got = append(got, <-rec.Events)
		}
		drills := 0
		for _, e := range got {
			if strings.Contains(e, ReasonInvalidDrill) {
				drills++
				if !strings.Contains(e, drill.Annotation) {
					t.Errorf("%s: event %q does not name the annotation", st.name, e)
				}
			}
		}
		if want := map[bool]int{true: 1}[st.event]; drills != want {
			t.Errorf("%s: %d InvalidDrill events (%q), want %d", st.name, drills, got, want)
		}
	}
}
