package controllers

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/ipam"
)

// IPAMService converts a Service, with the labels of its namespace, to the
// allocator's view, as the Service reconciler does. The error, a
// *RequestError, names the annotation or field that cannot be read. It is
// exported for what predicts the controller's allocations without running
// it (package impact: kubectl herald diff -f and the admission webhook).
func IPAMService(svc *corev1.Service, nsLabels map[string]string) (ipam.Service, error) {
	req, err := ReadRequest(svc)
	if err != nil {
		return ipam.Service{}, err
	}
	return toIPAM(svc, req, nsLabels), nil
}
