package lab

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// docRanges are the documentation ranges, the only addresses the lab may use.
var docRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func inDocRange(a netip.Addr) bool {
	for _, p := range docRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name    string
		nodes   int
		wantErr string
	}{
		{name: "one node", nodes: 1},
		{name: "three nodes", nodes: 3},
		{name: "most nodes", nodes: MaxNodes},
		{name: "no nodes", nodes: 0, wantErr: "Options.Nodes is 0: use 1 to 20 nodes"},
		{name: "too many", nodes: MaxNodes + 1, wantErr: "Options.Nodes is 21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(tt.nodes)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewPlan(%d) error = %v, want one containing %q", tt.nodes, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPlan(%d): %v", tt.nodes, err)
			}
			if len(p.Nodes) != tt.nodes {
				t.Fatalf("NewPlan(%d) has %d nodes", tt.nodes, len(p.Nodes))
			}
			seen := map[string]bool{}
			for _, name := range append(p.Namespaces(), p.RootLinks()...) {
				if !strings.HasPrefix(name, Prefix) {
					t.Errorf("%q lacks the lab prefix %q", name, Prefix)
				}
				if seen[name] {
					t.Errorf("%q is used twice", name)
				}
				seen[name] = true
			}
			for _, l := range p.RootLinks() {
				if len(l) > 15 {
					t.Errorf("root link %q is longer than 15 characters", l)
				}
			}
			addrs := map[netip.Addr]string{}
			for _, a := range []netip.Addr{MgmtAddr, RouterAddr4, RouterAddr6, ClientAddr4, ClientAddr6} {
				addrs[a] = "fixed"
			}
			for _, n := range p.Nodes {
				if len(n.LANPort) > 15 {
					t.Errorf("LAN port %q is longer than 15 characters", n.LANPort)
				}
				for _, a := range []netip.Addr{n.LAN4, n.LAN6, n.Mgmt} {
					if !inDocRange(a) {
						t.Errorf("node %s address %s is outside the documentation ranges", n.Name, a)
					}
					if other, dup := addrs[a]; dup {
						t.Errorf("node %s address %s is also %s's", n.Name, a, other)
					}
					addrs[a] = n.Name
				}
				if !LANPrefix4.Contains(n.LAN4) || !LANPrefix6.Contains(n.LAN6) || !MgmtPrefix.Contains(n.Mgmt) {
					t.Errorf("node %s addresses %s %s %s outside their networks", n.Name, n.LAN4, n.LAN6, n.Mgmt)
				}
			}
		})
	}
}

func TestNodeAddresses(t *testing.T) {
	p, err := NewPlan(3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range p.Nodes {
		got = append(got, strings.Join([]string{n.Name, n.Netns, n.LAN4.String(), n.LAN6.String(), n.Mgmt.String(), n.MgmtLink, n.LANPort}, " "))
	}
	want := []string{
		"node1 hlab-node1 198.51.100.11 2001:db8:100::11 203.0.113.11 hlab-m1 node1",
		"node2 hlab-node2 198.51.100.12 2001:db8:100::12 203.0.113.12 hlab-m2 node2",
		"node3 hlab-node3 198.51.100.13 2001:db8:100::13 203.0.113.13 hlab-m3 node3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("node layout (-want +got):\n%s", diff)
	}
	for _, a := range []netip.Addr{MgmtAddr, RouterAddr4, RouterAddr6, ClientAddr4, ClientAddr6} {
		if !inDocRange(a) {
			t.Errorf("%s is outside the documentation ranges", a)
		}
	}
	for _, pr := range append([]netip.Prefix{VIPPrefix4, VIPPrefix6, LANPrefix4, LANPrefix6, MgmtPrefix}, ServiceCIDRs...) {
		if !inDocRange(pr.Addr()) || !inDocRange(netip.PrefixFrom(pr.Addr(), pr.Bits()).Masked().Addr()) {
			t.Errorf("%s is outside the documentation ranges", pr)
		}
	}
}

func TestPlanNetns(t *testing.T) {
	p, err := NewPlan(3)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want, wantErr string
		frr                     bool
	}{
		{name: "router", in: "router", want: "hlab-router"},
		{name: "client", in: "client", want: "hlab-client"},
		{name: "node", in: "node2", want: "hlab-node2"},
		{name: "unknown", in: "node4", wantErr: `no namespace "node4": use one of router, client, bird, gobgp, node1, node2, node3`},
		{name: "router frr", in: "router", want: "hlab-router", frr: true},
		{name: "node frr", in: "node3", want: "hlab-node3", frr: true},
		{name: "client has no frr", in: "client", frr: true, wantErr: "client runs no FRR: use router or a node (node1, node2, node3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := p.Netns
			if tt.frr {
				f = p.FRRName
			}
			got, err := f(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", t.Name()+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run with -update to write it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; rerun with -update if intended):\n%s", path, diff)
	}
}

func TestRouterConfig(t *testing.T) {
	p, err := NewPlan(3)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, p.RouterConfig())
}

func TestComponentFlags(t *testing.T) {
	help := `Usage of speaker:
  -kubeconfig string
    	path to a kubeconfig
  --node-name string
  -frr-agent-socket=string  the agent's socket
  -metrics-bind-address string
`
	c := Component{Name: Speaker, Built: true, help: help}
	tests := []struct {
		name  string
		pairs []string
		want  []string
	}{
		{name: "declared flags only", pairs: []string{"kubeconfig", "/k", "namespace", "ns", "node-name", "node1"},
			want: []string{"--kubeconfig=/k", "--node-name=node1"}},
		{name: "flag named with =", pairs: []string{"frr-agent-socket", "/s"}, want: []string{"--frr-agent-socket=/s"}},
		{name: "prefix of a declared flag is not declared", pairs: []string{"metrics", "x", "socket", "/s"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, c.flagArgs(tt.pairs...)); diff != "" {
				t.Errorf("flagArgs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBirdConfig(t *testing.T) {
	p, err := NewPlan(2)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, p.BirdConfig("/run/herald-lab/bird/bird.log"))
}

func TestGoBGPConfig(t *testing.T) {
	p, err := NewPlan(2)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, p.GoBGPConfig())
}
