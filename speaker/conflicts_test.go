package speaker

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/speaker/l2"
)

func TestDropHostConflicts(t *testing.T) {
	pfx := netip.MustParsePrefix
	cfg := frrconfig.Config{Routers: []frrconfig.Router{{
		ASN:          64512,
		IPv4Networks: frrconfig.Prefixes{pfx("192.0.2.10/32"), pfx("192.0.2.11/32"), pfx("192.0.2.128/25")},
		IPv6Networks: frrconfig.Prefixes{pfx("2001:db8:200::10/128")},
		Neighbors: []frrconfig.Neighbor{{Address: netip.MustParseAddr("198.51.100.1"), Advertise: frrconfig.Advertisements{
			{Prefix: pfx("192.0.2.10/32")}, {Prefix: pfx("192.0.2.11/32")}, {Prefix: pfx("192.0.2.128/25")}, {Prefix: pfx("2001:db8:200::10/128")}}}},
	}}}
	a := func(ifname, ip string) HostAddr { return HostAddr{Interface: ifname, IP: netip.MustParseAddr(ip)} }
	tests := []struct {
		name      string
		addrs     []HostAddr
		wantV4    frrconfig.Prefixes
		wantV6    frrconfig.Prefixes
		wantAdv   int
		conflicts []v1beta1.IPConflict
	}{
		{"none on the host", []HostAddr{a("eth0", "198.51.100.11")},
			cfg.Routers[0].IPv4Networks, cfg.Routers[0].IPv6Networks, 4, nil},
		{"one on lo, one v6 on eth0", []HostAddr{a("lo", "192.0.2.11"), a("eth0", "2001:db8:200::10")},
			frrconfig.Prefixes{pfx("192.0.2.10/32"), pfx("192.0.2.128/25")}, nil, 2,
			[]v1beta1.IPConflict{{IP: "192.0.2.11", Mode: "BGP", Interface: "lo"}, {IP: "2001:db8:200::10", Mode: "BGP", Interface: "eth0"}}},
		{"kube-proxy's kube-ipvs0 is ignored", []HostAddr{a("kube-ipvs0", "192.0.2.10")},
			cfg.Routers[0].IPv4Networks, cfg.Routers[0].IPv6Networks, 4, nil},
		{"an aggregate covering a host address stays", []HostAddr{a("eth0", "192.0.2.200")},
			cfg.Routers[0].IPv4Networks, cfg.Routers[0].IPv6Networks, 4, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(cfg.Routers[0].IPv4Networks)
			got, conflicts := DropHostConflicts(cfg, tc.addrs, DefaultHostConflictIgnore())
			if diff := cmp.Diff(tc.conflicts, conflicts); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
			r := got.Routers[0]
			if fmt.Sprint(r.IPv4Networks) != fmt.Sprint(tc.wantV4) || fmt.Sprint(r.IPv6Networks) != fmt.Sprint(tc.wantV6) || len(r.Neighbors[0].Advertise) != tc.wantAdv {
				t.Errorf("config: v4 %s v6 %s, %d advertised; want v4 %s v6 %s, %d advertised",
					r.IPv4Networks, r.IPv6Networks, len(r.Neighbors[0].Advertise), tc.wantV4, tc.wantV6, tc.wantAdv)
			}
			if after := fmt.Sprint(cfg.Routers[0].IPv4Networks); after != before || len(cfg.Routers[0].Neighbors[0].Advertise) != 4 {
				t.Errorf("the input config changed: %s, want %s", after, before)
			}
		})
	}
}

func TestL2Conflicts(t *testing.T) {
	got := l2Conflicts([]l2.Conflict{{IP: netip.MustParseAddr("192.0.2.10"), Interface: "eth1", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x64}, Answering: true}})
	want := []v1beta1.IPConflict{{IP: "192.0.2.10", Mode: "L2", Interface: "eth1", MAC: "02:00:00:00:00:64", Announcing: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("l2Conflicts (-want +got):\n%s", diff)
	}
}

func TestAnsweredIPs(t *testing.T) {
	state := func(name string, ips ...string) v1beta1.NodeState {
		s := v1beta1.NodeState{}
		s.Name = name
		for _, ip := range ips {
			s.Status.L2Announcements = append(s.Status.L2Announcements, v1beta1.L2Announcement{IP: ip, Interface: "lan"})
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		states []v1beta1.NodeState
		want   []netip.Addr
	}{
		{"none", nil, nil},
		{"every node's, sorted, once", []v1beta1.NodeState{state("node2", "192.0.2.9", "2001:db8::1"), state("node1", "192.0.2.1", "192.0.2.9")},
			[]netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("2001:db8::1")}},
		{"an unparsable IP is skipped", []v1beta1.NodeState{state("node1", "bogus", "192.0.2.1")}, []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, AnsweredIPs(tc.states), cmpopts.EquateComparable(netip.Addr{})); d != "" {
				t.Errorf("AnsweredIPs (-want +got):\n%s", d)
			}
		})
	}
}
