package frrconfig

import (
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// bigConfig is n /32 prefixes from 198.18.0.0/15 (RFC 2544's benchmarking
// range) advertised to two peers, with a community on every prefix (four
// groups of communities) and local-pref on the iBGP peer.
func bigConfig(n int) *Config {
	r := Router{ASN: 64512, RouterID: addr("198.51.100.11")}
	base := addr("198.18.0.0").As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16
	communities := [][]string{{"65000:1"}, {"65000:2"}, {"65000:1", "no-export"}, {"65000:3"}}
	ebgp := Neighbor{Address: addr("198.51.100.1"), RemoteAS: "64513"}
	ibgp := Neighbor{Address: addr("198.51.100.2"), RemoteAS: "internal"}
	for i := range n {
		v := start + uint32(i) + 1
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 32)
		r.IPv4Networks = append(r.IPv4Networks, p)
		ebgp.Advertise = append(ebgp.Advertise, Advertisement{Prefix: p, Communities: communities[i%len(communities)]})
		ibgp.Advertise = append(ibgp.Advertise, Advertisement{Prefix: p, LocalPref: u32(100 + uint32(i%2)*100)})
	}
	r.Neighbors = []Neighbor{ebgp, ibgp}
	return &Config{Routers: []Router{r}}
}

// withExtraPrefix returns a copy of c with one more prefix advertised to
// both peers.
func withExtraPrefix(c *Config) *Config {
	r := c.Routers[0]
	p := pfx("198.19.255.254/32")
	r.IPv4Networks = append(r.IPv4Networks[:len(r.IPv4Networks):len(r.IPv4Networks)], p)
	r.Neighbors = append([]Neighbor(nil), r.Neighbors...)
	for i := range r.Neighbors {
		a := r.Neighbors[i].Advertise
		extra := a[0] // the attributes of an existing group
		extra.Prefix = p
		r.Neighbors[i].Advertise = append(a[:len(a):len(a)], extra)
	}
	return &Config{Routers: []Router{r}}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f b.N times and reports, besides wall time, the CPU time per
// operation: on a shared machine wall time measures the neighbours too.
func loop(b *testing.B, f func()) {
	b.ReportAllocs()
	start := cpuTime(b)
	n := 0
	for b.Loop() {
		f()
		n++
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(n), "cpu-ns/op")
}

func BenchmarkRender(b *testing.B) {
	c := bigConfig(20000)
	loop(b, func() {
		if _, err := Render(c); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkDiff(b *testing.B) {
	old := bigConfig(20000)
	added := withExtraPrefix(old)
	for _, bc := range []struct {
		name     string
		old, new *Config
	}{{"add-one-prefix", old, added}, {"remove-one-prefix", added, old}} {
		b.Run(bc.name, func(b *testing.B) {
			// what the frr-agent does: the running config's plan is kept,
			// the new config is planned and rendered, then diffed
			oldPlan, err := NewPlan(bc.old)
			if err != nil {
				b.Fatal(err)
			}
			loop(b, func() {
				newPlan, err := NewPlan(bc.new)
				if err != nil {
					b.Fatal(err)
				}
				cmds, err := DiffPlans(oldPlan, newPlan)
				if err != nil {
					b.Fatal(err)
				}
				if len(cmds) == 0 || len(cmds) > 10 {
					b.Fatalf("Diff gave %d commands for one prefix: %q", len(cmds), cmds)
				}
			})
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	text, err := Render(bigConfig(20000))
	if err != nil {
		b.Fatal(err)
	}
	loop(b, func() { Normalize(text) })
}
