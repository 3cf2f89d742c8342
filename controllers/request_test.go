package controllers

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReadRequest(t *testing.T) {
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tests := []struct {
		name        string
		annotations map[string]string
		lbIP        string
		want        Request
		wantField   string // non-empty: a *RequestError naming this field
	}{
		{name: "nothing", want: Request{}},
		{name: "spec.loadBalancerIP", lbIP: "192.0.2.10", want: Request{IPs: addrs("192.0.2.10")}},
		{name: "heraldlb.io ips", annotations: map[string]string{"heraldlb.io/loadBalancerIPs": "192.0.2.10, 2001:db8:200::10"},
			want: Request{IPs: addrs("192.0.2.10", "2001:db8:200::10")}},
		{name: "metallb.io ips", annotations: map[string]string{"metallb.io/loadBalancerIPs": "192.0.2.11"},
			want: Request{IPs: addrs("192.0.2.11")}},
		{name: "metallb.universe.tf ips", annotations: map[string]string{"metallb.universe.tf/loadBalancerIPs": "2001:db8:200::11"},
			want: Request{IPs: addrs("2001:db8:200::11")}},
		{name: "v4-mapped v6 is read as v4", annotations: map[string]string{"heraldlb.io/loadBalancerIPs": "::ffff:192.0.2.12"},
			want: Request{IPs: addrs("192.0.2.12")}},
		{name: "two spellings agreeing", annotations: map[string]string{"heraldlb.io/loadBalancerIPs": "192.0.2.10", "metallb.io/loadBalancerIPs": "192.0.2.10"},
			want: Request{IPs: addrs("192.0.2.10")}},
		{name: "two spellings disagreeing", annotations: map[string]string{"heraldlb.io/loadBalancerIPs": "192.0.2.10", "metallb.io/loadBalancerIPs": "192.0.2.11"},
			wantField: "metadata.annotations[metallb.io/loadBalancerIPs]"},
		{name: "annotation not an IP", annotations: map[string]string{"metallb.universe.tf/loadBalancerIPs": "192.0.2.300"},
			wantField: "metadata.annotations[metallb.universe.tf/loadBalancerIPs]"},
		{name: "spec not an IP", lbIP: "nope", wantField: "spec.loadBalancerIP"},
		{name: "spec and annotation agreeing", lbIP: "192.0.2.10", annotations: map[string]string{"heraldlb.io/loadBalancerIPs": "192.0.2.10,2001:db8:200::1"},
			want: Request{IPs: addrs("192.0.2.10", "2001:db8:200::1")}},
		{name: "spec and annotation disagreeing", lbIP: "192.0.2.9", annotations: map[string]string{"heraldlb.io/loadBalancerIPs": "192.0.2.10"},
			wantField: "spec.loadBalancerIP"},
		{name: "pool, each spelling", annotations: map[string]string{"metallb.universe.tf/address-pool": "blue"}, want: Request{Pool: "blue"}},
		{name: "pool heraldlb.io", annotations: map[string]string{"heraldlb.io/address-pool": "blue"}, want: Request{Pool: "blue"}},
		{name: "pool metallb.io", annotations: map[string]string{"metallb.io/address-pool": "blue"}, want: Request{Pool: "blue"}},
		{name: "pools disagreeing", annotations: map[string]string{"heraldlb.io/address-pool": "blue", "metallb.universe.tf/address-pool": "red"},
			wantField: "metadata.annotations[metallb.universe.tf/address-pool]"},
		{name: "sharing key, each spelling", annotations: map[string]string{"heraldlb.io/allow-shared-ip": "k1"}, want: Request{SharingKey: "k1"}},
		{name: "sharing key metallb.io", annotations: map[string]string{"metallb.io/allow-shared-ip": "k1"}, want: Request{SharingKey: "k1"}},
		{name: "sharing key metallb.universe.tf", annotations: map[string]string{"metallb.universe.tf/allow-shared-ip": "k1"}, want: Request{SharingKey: "k1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s", Annotations: tc.annotations},
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerIP: tc.lbIP},
			}
			got, err := ReadRequest(svc)
			if tc.wantField != "" {
				var re *RequestError
				if !errors.As(err, &re) {
					t.Fatalf("ReadRequest() error = %v, want a *RequestError on %s", err, tc.wantField)
				}
				if re.Field != tc.wantField || !strings.Contains(re.Error(), tc.wantField) {
					t.Errorf("ReadRequest() error field = %q (%v), want %q", re.Field, re, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadRequest() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("ReadRequest() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServes(t *testing.T) {
	class := func(s string) *string { return &s }
	tests := []struct {
		name    string
		typ     corev1.ServiceType
		class   *string
		lbClass string
		want    bool
	}{
		{name: "LB no class, default controller", typ: corev1.ServiceTypeLoadBalancer, want: true},
		{name: "ClusterIP", typ: corev1.ServiceTypeClusterIP, want: false},
		{name: "NodePort", typ: corev1.ServiceTypeNodePort, want: false},
		{name: "LB other class, default controller", typ: corev1.ServiceTypeLoadBalancer, class: class("other.io/lb"), want: false},
		{name: "LB our class", typ: corev1.ServiceTypeLoadBalancer, class: class("heraldlb.io/lb"), lbClass: "heraldlb.io/lb", want: true},
		{name: "LB no class, class controller", typ: corev1.ServiceTypeLoadBalancer, lbClass: "heraldlb.io/lb", want: false},
		{name: "LB other class, class controller", typ: corev1.ServiceTypeLoadBalancer, class: class("x/y"), lbClass: "heraldlb.io/lb", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{Spec: corev1.ServiceSpec{Type: tc.typ, LoadBalancerClass: tc.class}}
			if got := Serves(svc, tc.lbClass); got != tc.want {
				t.Errorf("Serves() = %v, want %v", got, tc.want)
			}
		})
	}
}
