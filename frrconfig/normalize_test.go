package frrconfig

import (
	"fmt"
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Normalize([]byte(tc.in))); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderAddsFewLines checks the point of the sequence-number scheme:
// one more prefix, anywhere in the order, changes a few lines of frr.conf,
// not every line after it.
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
			// The network and one prefix-list entry per neighbor; a prefix
			// sharing its home with an existing /32 (198.18.1.128/25,
			// 198.18.2.0/31) takes it over and moves that /32 (one more line
			// added and removed per neighbor).
			if len(added) > 5 || len(removed) > 2 {
				t.Errorf("adding %s changed %d+%d lines:\nadded %q\nremoved %q", p, len(added), len(removed), added, removed)
			}
			if len(added) < 3 {
				t.Errorf("adding %s added only %q", p, added)
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

func TestPrefixHome(t *testing.T) {
	// IPv4 homes follow address order (within each half of the space).
	prev := uint32(0)
	for i := range 300 {
		h := prefixHome(pfx(fmt.Sprintf("198.51.%d.%d/32", 100+i/256, i%256)))
		if h <= prev || h > maxPrefixSeq {
			t.Fatalf("home of address %d is %d after %d", i, h, prev)
		}
		prev = h
	}
	if h := prefixHome(pfx("2001:db8::1/128")); h == 0 || h > maxPrefixSeq {
		t.Errorf("IPv6 home %d out of 1..2^31-1", h)
	}
	if prefixHome(pfx("2001:db8::/64")) == prefixHome(pfx("2001:db8::/128")) {
		t.Errorf("IPv6 home ignores the prefix length")
	}
}
