package controllers

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	"github.com/heraldlb/herald/internal/drill"
	"github.com/heraldlb/herald/speaker/health"
)

// ReasonInvalidHealthCheck is the reason of the Warning event on a Service
// whose heraldlb.io/health-check annotations do not parse. The speakers
// then announce it as if it had no check: a typo never withdraws it.
const ReasonInvalidHealthCheck = "InvalidHealthCheck"

// ReasonInvalidDrill is the reason of the Warning event on a Service whose
// heraldlb.io/drill annotation does not parse. The speakers do not honour
// it: the Service stays announced where it was.
const ReasonInvalidDrill = "InvalidDrill"

// annotationCheck is one family of herald's Service annotations the
// controller reports on when they do not parse.
type annotationCheck struct {
	// reason is the Warning event's reason; action its action.
	reason, action string
	// owns tells the annotation keys of the family.
	owns func(key string) bool
	// parse returns why the annotations do not parse, nil when they do.
	parse func(map[string]string) error
	// consequence follows the error in the event's note.
	consequence string
}

// annotationChecks are the families of annotations the controller checks.
var annotationChecks = []annotationCheck{
	{
		reason: ReasonInvalidHealthCheck, action: "HealthCheck",
		owns: func(k string) bool { return strings.HasPrefix(k, health.AnnotationPrefix) },
		parse: func(a map[string]string) error {
			_, err := health.Parse(a)
			return err
		},
		consequence: "until it is fixed the Service is announced as if it had no health check",
	},
	{
		reason: ReasonInvalidDrill, action: "Drill",
		owns: func(k string) bool { return k == drill.Annotation },
		parse: func(a map[string]string) error {
			_, _, err := drill.Of(a)
			return err
		},
		consequence: "no node honours it, the Service stays announced where it is; run kubectl herald drill again, or remove the annotation",
	},
}

// healthChecks reports each Service's herald annotations that do not parse
// (health checks, drills), once per distinct set of values (the event is
// not repeated at every reconcile, and is given again after a fix and a
// new mistake).
type annotationReports struct {
	mu       sync.Mutex
	reported map[string]string // Service key and reason → the annotations last reported
}

// check parses svc's herald annotations and records a Warning event for
// each family that does not parse and was not reported as it is.
func (h *annotationReports) check(rec events.EventRecorder, key string, svc *corev1.Service) {
	for _, c := range annotationChecks {
		h.checkOne(rec, key, svc, c)
	}
}

func (h *annotationReports) checkOne(rec events.EventRecorder, key string, svc *corev1.Service, c annotationCheck) {
	err := c.parse(svc.Annotations)
	id := key + "\x00" + c.reason
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		delete(h.reported, id)
		return
	}
	var values []string
	for k, v := range svc.Annotations {
		if c.owns(k) {
			values = append(values, k+"="+v)
		}
	}
	slices.Sort(values)
	sig := strings.Join(values, "\n")
	if h.reported[id] == sig {
		return
	}
	if h.reported == nil {
		h.reported = map[string]string{}
	}
	h.reported[id] = sig
	rec.Eventf(svc, nil, corev1.EventTypeWarning, c.reason, c.action, "%s; %s", err.Error(), c.consequence)
}

// forget drops a deleted Service.
func (h *annotationReports) forget(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range annotationChecks {
		delete(h.reported, key+"\x00"+c.reason)
	}
}
