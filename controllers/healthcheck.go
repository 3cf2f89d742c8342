package controllers

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	"github.com/heraldlb/herald/speaker/health"
)

// ReasonInvalidHealthCheck is the reason of the Warning event on a Service
// whose heraldlb.io/health-check annotations do not parse. The speakers
// then announce it as if it had no check: a typo never withdraws it.
const ReasonInvalidHealthCheck = "InvalidHealthCheck"

// healthChecks reports each Service's health-check annotations that do not
// parse, once per distinct set of values (the event is not repeated at
// every reconcile, and is given again after a fix and a new mistake).
type healthChecks struct {
	mu       sync.Mutex
	reported map[string]string // Service key → the annotations last reported
}

// check parses svc's health-check annotations and records a Warning event
// when they do not parse and were not reported as they are.
func (h *healthChecks) check(rec events.EventRecorder, key string, svc *corev1.Service) {
	_, err := health.Parse(svc.Annotations)
	var values []string
	for k, v := range svc.Annotations {
		if strings.HasPrefix(k, health.AnnotationPrefix) {
			values = append(values, k+"="+v)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		delete(h.reported, key)
		return
	}
	slices.Sort(values)
	sig := strings.Join(values, "\n")
	if h.reported[key] == sig {
		return
	}
	if h.reported == nil {
		h.reported = map[string]string{}
	}
	h.reported[key] = sig
	rec.Eventf(svc, nil, corev1.EventTypeWarning, ReasonInvalidHealthCheck, "HealthCheck",
		"%s; until it is fixed the Service is announced as if it had no health check", err.Error())
}

// forget drops a deleted Service.
func (h *healthChecks) forget(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.reported, key)
}
