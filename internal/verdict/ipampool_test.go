package verdict

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/ipam"
)

func TestIPAMPool(t *testing.T) {
	no := false
	tests := []struct {
		name      string
		pool      *v1beta1.IPAddressPool
		want      ipam.Pool
		wantField string
	}{
		{
			name: "defaults: autoAssign unset is true",
			pool: pool("a", []string{"192.0.2.0/28"}),
			want: ipam.Pool{Name: "a", Addresses: []string{"192.0.2.0/28"}, AutoAssign: true},
		},
		{
			name: "autoAssign false, avoidBuggyIPs",
			pool: pool("b", []string{"192.0.2.0/28", "2001:db8:200::/120"}, func(p *v1beta1.IPAddressPool) {
				p.Spec.AutoAssign, p.Spec.AvoidBuggyIPs = &no, true
			}),
			want: ipam.Pool{Name: "b", Addresses: []string{"192.0.2.0/28", "2001:db8:200::/120"}, AvoidBuggyIPs: true},
		},
		{
			name: "serviceAllocation",
			pool: pool("c", []string{"192.0.2.0/28"}, func(p *v1beta1.IPAddressPool) {
				p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{
					Priority: 3, Namespaces: []string{"x"},
					NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": "a"}}},
					ServiceSelectors:   []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "gold"}}},
				}
			}),
			want: ipam.Pool{Name: "c", Addresses: []string{"192.0.2.0/28"}, AutoAssign: true, ServiceAllocation: &ipam.ServiceAllocation{
				Priority: 3, Namespaces: []string{"x"},
				NamespaceSelectors: []labels.Selector{labels.SelectorFromSet(labels.Set{"team": "a"})},
				ServiceSelectors:   []labels.Selector{labels.SelectorFromSet(labels.Set{"tier": "gold"})},
			}},
		},
		{
			name: "bad selector names the field",
			pool: pool("d", []string{"192.0.2.0/28"}, func(p *v1beta1.IPAddressPool) {
				p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{
					ServiceSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}},
				}
			}),
			wantField: "spec.serviceAllocation.serviceSelectors[0]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := IPAMPool(tc.pool)
			if tc.wantField != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantField) {
					t.Fatalf("IPAMPool() error = %v, want one naming %s", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("IPAMPool() error = %v", err)
			}
			sel := cmp.Comparer(func(a, b labels.Selector) bool { return a.String() == b.String() })
			if diff := cmp.Diff(tc.want, got, sel); diff != "" {
				t.Errorf("IPAMPool() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
