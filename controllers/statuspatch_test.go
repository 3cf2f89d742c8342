package controllers

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// TestServiceStatusPatch: applied as the API server applies a strategic
// merge patch, the built patch takes the old status to the new one, and it
// leaves alone a condition another controller wrote meanwhile.
func TestServiceStatusPatch(t *testing.T) {
	at := metav1.Unix(1700000000, 0)
	cond := func(typ, status, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), Reason: reason, Message: reason + " message", LastTransitionTime: at, ObservedGeneration: 1}
	}
	ingress := func(ips ...string) []corev1.LoadBalancerIngress {
		var out []corev1.LoadBalancerIngress
		for _, ip := range ips {
			out = append(out, corev1.LoadBalancerIngress{IP: ip, IPMode: ptrTo(corev1.LoadBalancerIPModeVIP)})
		}
		return out
	}
	other := cond("example.com/Other", "True", "Theirs")
	for _, tc := range []struct {
		name     string
		old, new corev1.ServiceStatus
	}{
		{"first IP and conditions",
			corev1.ServiceStatus{},
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")},
				Conditions: []metav1.Condition{cond(ConditionIPAllocated, "True", "Allocated"), cond(ConditionAnnounced, "False", "Pending")}}},
		{"a condition changes, another controller's stays",
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")},
				Conditions: []metav1.Condition{other, cond(ConditionAnnounced, "False", "Pending")}},
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")},
				Conditions: []metav1.Condition{other, cond(ConditionAnnounced, "True", "Announced")}}},
		{"IPs change to two families",
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")}},
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.2", "2001:db8::2")}}},
		{"IPs and herald's conditions removed",
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")},
				Conditions: []metav1.Condition{cond(ConditionIPAllocated, "True", "Allocated"), other, cond(ConditionAnnounced, "True", "Announced")}},
			corev1.ServiceStatus{Conditions: []metav1.Condition{other}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Status: tc.old}
			updated := old.DeepCopy()
			updated.Status = tc.new
			p, err := serviceStatusPatch(old, updated)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := p.Data(old)
			oldJSON, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			got, err := strategicpatch.StrategicMergePatch(oldJSON, data, corev1.Service{})
			if err != nil {
				t.Fatalf("applying %s: %v", data, err)
			}
			var gotSvc corev1.Service
			if err := json.Unmarshal(got, &gotSvc); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.new, gotSvc.Status); diff != "" {
				t.Errorf("patch %s gives (-want +got):\n%s", data, diff)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
