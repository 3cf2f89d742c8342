package controllers

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/speaker/planner"
)

func TestAnnouncements(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8:200::10")
	ns := func(name string, st v1beta1.NodeStateStatus) v1beta1.NodeState {
		return v1beta1.NodeState{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: st}
	}
	up := func(peer, name, state string) v1beta1.BGPSessionStatus {
		return v1beta1.BGPSessionStatus{Peer: peer, PeerName: name, State: state}
	}
	tests := []struct {
		name   string
		states []v1beta1.NodeState
		want   map[netip.Addr]Seen
	}{{
		name: "exact prefixes, an aggregate, a down session, L2",
		states: []v1beta1.NodeState{
			ns("node1", v1beta1.NodeStateStatus{
				BGPSessions: []v1beta1.BGPSessionStatus{up("198.51.100.1", "router", "Established"), up("2001:db8:100::1", "router6", "Established")},
				BGPAnnouncements: []v1beta1.BGPAnnouncement{
					{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.10/32", "2001:db8:200::10/128"}},
					{Peer: "2001:db8:100::1", Prefixes: []string{"2001:db8:200::/64"}},
				}}),
			ns("node2", v1beta1.NodeStateStatus{
				BGPSessions:      []v1beta1.BGPSessionStatus{up("198.51.100.1", "router", "Active")},
				BGPAnnouncements: []v1beta1.BGPAnnouncement{{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.10/32"}}},
				L2Announcements:  []v1beta1.L2Announcement{{IP: "192.0.2.10", Interface: "lan"}},
			}),
		},
		want: map[netip.Addr]Seen{
			v4: {BGP: map[string][]string{"node1": {"router"}}, L2: map[string][]string{"node2": {"lan"}}},
			v6: {BGP: map[string][]string{"node1": {"router", "router6"}}, L2: map[string][]string{}},
		},
	}, {
		name: "nobody",
		want: map[netip.Addr]Seen{v4: {BGP: map[string][]string{}, L2: map[string][]string{}}, v6: {BGP: map[string][]string{}, L2: map[string][]string{}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Announcements([]netip.Addr{v4, v6}, tt.states)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got, want := Announcements([]netip.Addr{v4}, tests[0].states)[v4].describe(), "BGP from node1 (to router); L2 from node2 on lan"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
}

func TestWhyMissing(t *testing.T) {
	states := []v1beta1.NodeState{
		{ObjectMeta: metav1.ObjectMeta{Name: "node1"}, Status: v1beta1.NodeStateStatus{BGPSessions: []v1beta1.BGPSessionStatus{{Peer: "198.51.100.1", PeerName: "router", State: "Established"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "node2"}, Status: v1beta1.NodeStateStatus{BGPSessions: []v1beta1.BGPSessionStatus{{Peer: "198.51.100.1", PeerName: "router", State: "OpenSent"}}}},
	}
	tests := []struct {
		name       string
		e          planner.Expected
		wantReason string
	}{
		{"planner's reason wins", planner.Expected{Reason: planner.ReasonNoAdvertisement, Message: "m"}, planner.ReasonNoAdvertisement},
		{"a session down", planner.Expected{BGP: map[string][]string{"node1": {"router"}, "node2": {"router"}}}, ReasonSessionsDown},
		{"all up: pending", planner.Expected{BGP: map[string][]string{"node1": {"router"}}}, ReasonPending},
		{"no NodeState: pending", planner.Expected{BGP: map[string][]string{"node3": {"router"}}}, ReasonPending},
		{"L2 only: pending", planner.Expected{L2Nodes: []string{"node1"}}, ReasonPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, msg := whyMissing(&tt.e, states)
			if reason != tt.wantReason || msg == "" {
				t.Errorf("whyMissing = %q, %q; want reason %q and a message", reason, msg, tt.wantReason)
			}
		})
	}
}
