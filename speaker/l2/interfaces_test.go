package l2

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSelectInterfaces(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	up := net.FlagUp | net.FlagRunning | net.FlagBroadcast | net.FlagMulticast
	links := []Link{
		{Name: "lo", Index: 1, Flags: net.FlagUp | net.FlagRunning | net.FlagLoopback},
		{Name: "eth0", Index: 2, Flags: up, HardwareAddr: mac},
		{Name: "eth1", Index: 3, Flags: net.FlagUp | net.FlagBroadcast, HardwareAddr: mac}, // no carrier
		{Name: "eth2", Index: 4, Flags: net.FlagBroadcast, HardwareAddr: mac},              // admin down
		{Name: "bond0", Index: 5, Flags: up, HardwareAddr: mac},
		{Name: "bond0.100", Index: 6, Flags: up, HardwareAddr: mac},
		{Name: "veth1a2b3c", Index: 7, Flags: up, HardwareAddr: mac},
		{Name: "docker0", Index: 8, Flags: up, HardwareAddr: mac},
		{Name: "cni0", Index: 9, Flags: up, HardwareAddr: mac},
		{Name: "cbr0", Index: 10, Flags: up, HardwareAddr: mac},
		{Name: "kube-bridge", Index: 11, Flags: up, HardwareAddr: mac},
		{Name: "flannel.1", Index: 12, Flags: up, HardwareAddr: mac},
		{Name: "vxlan.calico", Index: 13, Flags: up, HardwareAddr: mac},
		{Name: "cilium_host", Index: 14, Flags: up, HardwareAddr: mac},
		{Name: "kube-ipvs0", Index: 15, Flags: up, HardwareAddr: mac},
		{Name: "tun0", Index: 16, Flags: net.FlagUp | net.FlagRunning | net.FlagPointToPoint},
		{Name: "wg0", Index: 17, Flags: up, HardwareAddr: mac},
		{Name: "ib0", Index: 18, Flags: up, HardwareAddr: make(net.HardwareAddr, 20)}, // not Ethernet
	}
	names := func(ls []Link) []string {
		out := []string{}
		for _, l := range ls {
			out = append(out, l.Name)
		}
		return out
	}
	tests := []struct {
		name    string
		named   []string
		exclude []string
		want    []string
	}{
		{name: "default: usable physical, bond and vlan links", exclude: DefaultExclude(), want: []string{"bond0", "bond0.100", "eth0"}},
		{name: "custom exclusions replace the defaults", exclude: []string{"bond*", "lo"}, want: []string{"cbr0", "cilium_host", "cni0", "docker0", "eth0", "flannel.1", "kube-bridge", "kube-ipvs0", "veth1a2b3c", "vxlan.calico", "wg0"}},
		{name: "named interfaces win over exclusions", named: []string{"veth1a2b3c", "eth0"}, exclude: DefaultExclude(), want: []string{"eth0", "veth1a2b3c"}},
		{name: "named but down or missing: nothing", named: []string{"eth1", "eth2", "eth9"}, exclude: DefaultExclude(), want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, names(SelectInterfaces(links, tc.named, tc.exclude))); diff != "" {
				t.Errorf("SelectInterfaces mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateExclude(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		wantErr  string
	}{
		{name: "defaults are valid", patterns: DefaultExclude()},
		{name: "bad pattern named", patterns: []string{"veth*", "eth["}, wantErr: `interface exclusion pattern 1 ("eth["): syntax error in pattern; use path.Match syntax such as "veth*"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateExclude(tc.patterns)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Errorf("ValidateExclude error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
