package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestServiceSeries(t *testing.T) {
	created := time.Unix(1000, 0)
	failedAt := time.Unix(2000, 0)
	svc := func(name string, mod func(*corev1.Service)) corev1.Service {
		s := corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, CreationTimestamp: metav1.NewTime(created)},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
		}
		if mod != nil {
			mod(&s)
		}
		return s
	}
	withIP := func(s *corev1.Service) {
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	}
	svcs := []corev1.Service{
		svc("new", nil),
		svc("exhausted", func(s *corev1.Service) {
			s.Status.Conditions = []metav1.Condition{{Type: ConditionIPAllocated, Status: metav1.ConditionFalse, Reason: "PoolExhausted", LastTransitionTime: metav1.NewTime(failedAt)}}
		}),
		svc("fine", func(s *corev1.Service) {
			withIP(s)
			s.Status.Conditions = []metav1.Condition{{Type: ConditionAnnounced, Status: metav1.ConditionTrue, Reason: ReasonAnnounced}}
		}),
		svc("dark", func(s *corev1.Service) {
			withIP(s)
			s.Status.Conditions = []metav1.Condition{{Type: ConditionAnnounced, Status: metav1.ConditionFalse, Reason: ReasonSessionsDown}}
		}),
		svc("other-class", func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr.To("other") }),
		svc("clusterip", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP }),
	}
	want := []series{
		{kind: "state", value: 2, labels: []string{"allocated"}},
		{kind: "state", value: 2, labels: []string{"pending"}},
		{kind: "pending", value: 1000, labels: []string{"ns", "new", "Unknown"}},
		{kind: "pending", value: 2000, labels: []string{"ns", "exhausted", "PoolExhausted"}},
		{kind: "unannounced", value: 1, labels: []string{"ns", "dark", ReasonSessionsDown}},
	}
	got := serviceSeries(svcs, "")
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(series{})); diff != "" {
		t.Errorf("serviceSeries (-want +got):\n%s", diff)
	}
}
