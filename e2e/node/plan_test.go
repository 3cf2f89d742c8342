package main

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<TestName>.golden (rewritten with -update).
func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (run go test ./e2e/node -update): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func TestRendered(t *testing.T) {
	p := paths{dir: "/tmp/hnode"}
	cni, err := cniConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid([]byte(cni)) {
		t.Errorf("the CNI config is not JSON:\n%s", cni)
	}
	for name, got := range map[string]string{
		"containerd":    containerdConfig(p),
		"cni":           cni,
		"kubelet":       kubeletConfig(p),
		"kubeproxy":     kubeProxyConfig(p),
		"router":        routerConfig(),
		"heraldobjects": heraldObjects(),
		"web":           webDeployment() + "---\n" + webServices(),
		"kustomization": kustomization("/src/config/default",
			map[string]string{"ghcr.io/heraldlb/herald": "localhost/herald:v0.1.0-3-gabc", "ghcr.io/heraldlb/herald-frr": "localhost/herald-frr:10.3"},
			[]string{"ghcr.io/heraldlb/herald", "ghcr.io/heraldlb/herald-frr"}),
	} {
		t.Run(name, func(t *testing.T) { golden(t, got) })
	}
}

// TestAddressesDistinct checks the plan's prefixes do not overlap each
// other nor the lab's (e2e/lab/plan.go), and are documentation ranges.
func TestAddressesDistinct(t *testing.T) {
	doc := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
	}
	lab := map[string]netip.Prefix{
		"lab API server": netip.MustParsePrefix("203.0.113.1/32"),
		"lab ClusterIPs": netip.MustParsePrefix("203.0.113.128/25"),
		"lab pool":       netip.MustParsePrefix("192.0.2.0/26"),
		"lab pool range": netip.MustParsePrefix("192.0.2.64/27"),
		"lab LAN v6":     netip.MustParsePrefix("2001:db8:100::/64"),
		"lab pool v6":    netip.MustParsePrefix("2001:db8:200::/64"),
	}
	ours := map[string]netip.Prefix{
		"host link":  netip.PrefixFrom(netip.MustParseAddr(hostAddr), linkPrefix).Masked(),
		"LAN":        netip.MustParsePrefix(lanPrefix4),
		"LAN v6":     netip.MustParsePrefix(lanPrefix6),
		"pods":       netip.MustParsePrefix(podCIDR4),
		"pods v6":    netip.MustParsePrefix(podCIDR6),
		"services":   netip.MustParsePrefix(serviceCIDR4),
		"services6":  netip.MustParsePrefix(serviceCIDR6),
		"BGP pool":   netip.MustParsePrefix(bgpPool4),
		"BGP pool 6": netip.MustParsePrefix(bgpPool6),
	}
	for name, p := range ours {
		inDoc := false
		for _, d := range doc {
			inDoc = inDoc || (d.Addr().Is4() == p.Addr().Is4() && d.Bits() <= p.Bits() && d.Contains(p.Addr()))
		}
		if !inDoc {
			t.Errorf("%s %s is not in a documentation range", name, p)
		}
		for other, q := range ours {
			if other != name && p.Overlaps(q) {
				t.Errorf("%s %s overlaps %s %s", name, p, other, q)
			}
		}
		for other, q := range lab {
			if p.Overlaps(q) {
				t.Errorf("%s %s overlaps the %s %s", name, p, other, q)
			}
		}
	}
	// The L2 pool lies inside the LAN, on purpose: ARP and NDP are asked on it.
	for _, pair := range [][2]string{{l2Pool4, lanPrefix4}, {l2Pool6, lanPrefix6}} {
		l2, lan := netip.MustParsePrefix(pair[0]), netip.MustParsePrefix(pair[1])
		if !lan.Contains(l2.Addr()) || l2.Bits() < lan.Bits() {
			t.Errorf("L2 pool %s is not inside the LAN %s", l2, lan)
		}
	}
	if got := netip.MustParsePrefix(serviceCIDR4).Addr().Next().String(); got != kubernetesIP {
		t.Errorf("kubernetesIP = %s, want the first address of %s, %s", kubernetesIP, serviceCIDR4, got)
	}
}

func TestImageRefs(t *testing.T) {
	tests := []struct {
		name, ref, wantName, wantRepo, wantTag string
	}{
		{"tag", "ghcr.io/heraldlb/herald:v1.2.0", "ghcr.io/heraldlb/herald", "ghcr.io/heraldlb/herald", "v1.2.0"},
		{"port and tag", "localhost:5000/herald:1", "localhost:5000/herald", "localhost:5000/herald", "1"},
		{"no tag", "localhost:5000/herald", "localhost:5000/herald", "localhost:5000/herald", ""},
		{"digest", "quay.io/frrouting/frr@sha256:abc", "quay.io/frrouting/frr", "quay.io/frrouting/frr", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := imageName(tc.ref); got != tc.wantName {
				t.Errorf("imageName(%q) = %q, want %q", tc.ref, got, tc.wantName)
			}
			repo, tag := splitRef(tc.ref)
			if diff := cmp.Diff([2]string{tc.wantRepo, tc.wantTag}, [2]string{repo, tag}); diff != "" {
				t.Errorf("splitRef(%q) (-want +got):\n%s", tc.ref, diff)
			}
		})
	}
}

func TestImagesInManifests(t *testing.T) {
	yaml := "spec:\n  initContainers:\n  - name: copy\n    image: ghcr.io/heraldlb/herald:v1\n  containers:\n  - image: \"ghcr.io/heraldlb/herald-frr:10\"\n    name: frr\n"
	var got []string
	for _, m := range imageRE.FindAllStringSubmatch(yaml, -1) {
		got = append(got, m[1])
	}
	if diff := cmp.Diff([]string{"ghcr.io/heraldlb/herald:v1", "ghcr.io/heraldlb/herald-frr:10"}, got); diff != "" {
		t.Errorf("images found (-want +got):\n%s", diff)
	}
}
