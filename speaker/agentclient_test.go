package speaker

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/vtysh"
)

func TestFromAgentResult(t *testing.T) {
	rej := []vtysh.RejectedLine{{Line: 3, Text: "x", Error: "% Unknown command"}}
	tests := []struct {
		name string
		in   frragent.Result
		want ApplyResult
	}{
		{"incremental success", frragent.Result{Method: frragent.MethodIncremental, Success: true, Hash: "h", Duration: time.Millisecond},
			ApplyResult{Result: v1beta1.FRRApplied, Method: v1beta1.FRRIncremental, Hash: "h", RunningHash: "h", Duration: time.Millisecond}},
		{"nothing to do", frragent.Result{Method: frragent.MethodNone, Success: true, Hash: "h"},
			ApplyResult{Result: v1beta1.FRRApplied, Hash: "h", RunningHash: "h"}},
		{"rejected", frragent.Result{Method: frragent.MethodReload, Rejected: rej, Error: "refused"},
			ApplyResult{Result: v1beta1.FRRRejected, Method: v1beta1.FRRReload, Rejected: rej, Message: "refused"}},
		{"failed", frragent.Result{Method: frragent.MethodReload, Error: "frr-reload.py: exit status 1"},
			ApplyResult{Result: v1beta1.FRRFailed, Method: v1beta1.FRRReload, Message: "frr-reload.py: exit status 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fromAgentResult(tt.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromAgentState(t *testing.T) {
	r := func(p string) vtysh.AdvertisedRoute { return vtysh.AdvertisedRoute{Prefix: netip.MustParsePrefix(p)} }
	in := frragent.State{Advertised: []frragent.NeighborRoutes{
		{VRF: "default", Neighbor: "198.51.100.1", Family: "ipv4Unicast", Routes: []vtysh.AdvertisedRoute{r("192.0.2.11/32"), r("192.0.2.10/32")}},
		{VRF: "default", Neighbor: "198.51.100.1", Family: "ipv6Unicast", Routes: []vtysh.AdvertisedRoute{r("2001:db8:200::1/128")}},
		{VRF: "red", Neighbor: "198.51.100.1", Family: "ipv4Unicast", Routes: []vtysh.AdvertisedRoute{r("192.0.2.12/32")}},
	}}
	want := []Advertised{
		{VRF: "default", Peer: "198.51.100.1", Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("192.0.2.11/32"), netip.MustParsePrefix("2001:db8:200::1/128")}},
		{VRF: "red", Peer: "198.51.100.1", Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.12/32")}},
	}
	if diff := cmp.Diff(want, fromAgentState(in).Advertised, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
