package frrconfig

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "drops FRR's own lines and comments",
			in: "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nfrr defaults traditional\nhostname vm\n" +
				"log stdout informational\nno ip forwarding\nno ipv6 forwarding\nservice integrated-vtysh-config\n!\nend\n",
			want: []string{"frr defaults traditional", "log stdout informational"},
		},
		{
			name: "orders objects FRR prints in creation order",
			in: "router bgp 64512 vrf red\n bgp router-id 192.0.2.1\nexit\n!\nrouter bgp 64512\n neighbor 192.0.2.1 remote-as 1  \nexit\n" +
				"ip prefix-list zz seq 5 permit 192.0.2.1/32\nip prefix-list aa seq 10 permit 192.0.2.1/32\nip prefix-list aa seq 20 permit 192.0.2.2/32\n!\n" +
				"ipv6 prefix-list b seq 1 permit 2001:db8::/64\n!\n" +
				"route-map zz permit 10\n match ip address prefix-list zz\nexit\n!\nroute-map aa deny 1\nexit\n!\nroute-map aa deny 65535\nexit\n!\n" +
				"bfd\n profile slow\n  receive-interval 1000\n exit\n !\n profile fast\n exit\n !\nexit\n",
			want: []string{
				"router bgp 64512", " neighbor 192.0.2.1 remote-as 1", "exit",
				"router bgp 64512 vrf red", " bgp router-id 192.0.2.1", "exit",
				"ip prefix-list aa seq 10 permit 192.0.2.1/32", "ip prefix-list aa seq 20 permit 192.0.2.2/32",
				"ip prefix-list zz seq 5 permit 192.0.2.1/32",
				"ipv6 prefix-list b seq 1 permit 2001:db8::/64",
				"route-map aa deny 1", "exit", "route-map aa deny 65535", "exit",
				"route-map zz permit 10", " match ip address prefix-list zz", "exit",
				"bfd", " profile fast", " exit", " profile slow", "  receive-interval 1000", " exit", "exit",
			},
		},
		{
			// bfdd keeps printing the bfd node once its last profile is gone
			name: "drops an empty bfd stanza",
			in:   "log stdout informational\n!\nbfd\nexit\n!\nend\n",
			want: []string{"log stdout informational"},
		},
		{
			name: "route-map entries by seq",
			in:   "route-map a permit 20\nexit\nroute-map a deny 65535\nexit\nroute-map a permit 3\n match tag 1\nexit\n",
			want: []string{"route-map a permit 3", " match tag 1", "exit", "route-map a permit 20", "exit", "route-map a deny 65535", "exit"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Normalize([]byte(tc.in))); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderAddsFewLines checks the point of classes and derived numbers:
// one more prefix that is sent like others, anywhere in the order, adds its
// network line and changes nothing else.
func TestRenderAddsFewLines(t *testing.T) {
	c := bigConfig(1000)
	before, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"198.18.0.0/32", "198.18.1.128/25", "198.18.2.0/31", "198.18.3.233/32"} {
		t.Run(p, func(t *testing.T) {
			r := c.Routers[0]
			r.IPv4Networks = append(pfxs(p), r.IPv4Networks...)
			r.Neighbors = append([]Neighbor(nil), r.Neighbors...)
			for i := range r.Neighbors {
				extra := r.Neighbors[i].Advertise[0]
				extra.Prefix = pfx(p)
				r.Neighbors[i].Advertise = append([]Advertisement{extra}, r.Neighbors[i].Advertise...)
			}
			after, err := Render(&Config{Routers: []Router{r}})
			if err != nil {
				t.Fatal(err)
			}
			added, removed := lineDelta(string(before), string(after))
			if len(added) != 1 || len(removed) != 0 || !strings.HasPrefix(added[0], "  network "+p+" route-map ") {
				t.Errorf("adding %s changed %d+%d lines:\nadded %q\nremoved %q", p, len(added), len(removed), added, removed)
			}
		})
	}
}

// lineDelta returns the lines only in b and only in a, as multisets.
func lineDelta(a, b string) (added, removed []string) {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		if count[l] > 0 {
			count[l]--
			continue
		}
		added = append(added, l)
	}
	for l, n := range count {
		for range n {
			removed = append(removed, l)
		}
	}
	return added, removed
}

func TestAssignSeqs(t *testing.T) {
	tests := []struct {
		name  string
		homes []uint32
		want  []uint32
	}{
		{"distinct homes are kept", []uint32{5, 1, 9}, []uint32{5, 1, 9}},
		{"a collision takes the next free seq", []uint32{5, 5, 6}, []uint32{5, 7, 6}},
		{"homes go out before collisions", []uint32{5, 5, 6, 7}, []uint32{5, 8, 6, 7}},
		{"the search wraps around", []uint32{10, 10}, []uint32{10, 1}},
		{"the search wraps before the top", []uint32{9, 9, 10}, []uint32{9, 1, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := assignSeqs(len(tc.homes), func(i int) uint32 { return tc.homes[i] }, 10)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("assignSeqs(%v) (-want +got):\n%s", tc.homes, diff)
			}
		})
	}
}

func TestAssignSeqsWrapsAtTheTopOfUint32(t *testing.T) {
	got := assignSeqs(2, func(int) uint32 { return maxTag }, maxTag)
	if diff := cmp.Diff([]uint32{maxTag, 1}, got); diff != "" {
		t.Errorf("two classes at home 2^32-1 (-want +got):\n%s", diff)
	}
}

func TestTagHome(t *testing.T) {
	if tagHome("a") == tagHome("b") {
		t.Errorf("tagHome gives two keys one home")
	}
	for _, k := range []string{"", "x", "red\x00198.51.100.1-out=|1:2:3|"} {
		if h := tagHome(k); h == 0 {
			t.Errorf("tagHome(%q) = 0; tags start at 1", k)
		}
	}
}
