package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/heraldlb/herald/speaker/health"
)

// TestHealthCheckReport: a health-check annotation that does not parse is
// reported once by a Warning event naming the annotation, again only when
// its value changes, and not at all once fixed.
func TestHealthCheckReport(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	var h healthChecks
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
