package planner

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/frrconfig"
)

// BenchmarkPlan plans one node of a cluster with n Services (one IPv4 and
// one IPv6 address each) and two peers: the work the speaker does for each
// batch of changes.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		s := base()
		s.Pools = append(s.Pools, poolObj("big", "198.51.100.0/24", "203.0.113.0/24", "192.0.2.128/25"))
		s.Peers = append(s.Peers, peer("router6", "2001:db8:100::1", 64512, 64500))
		s.Services = nil
		for i := 0; i < n; i++ {
			s.Services = append(s.Services, svc(fmt.Sprintf("s%d", i), corev1.ServiceExternalTrafficPolicyCluster,
				fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), fmt.Sprintf("2001:db8:200::%x", i+1)))
			s.Services[i].Status.LoadBalancer.Ingress[0].IP = fmt.Sprintf("192.0.2.%d", i%64)
		}
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Plan(&s, "node1")
			}
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used so far:
// on a shared machine wall time measures the neighbours too, so the
// benchmarks below report cpu-ns/op as well.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// scaleSnapshot is the base cluster with n dual-stack Services announced
// (each its own IPv4 address of 198.18.0.0/15, RFC 2544's benchmarking
// range, and IPv6 address) to two peers.
func scaleSnapshot(n int) Snapshot {
	s := base()
	s.Pools = append(s.Pools, poolObj("big", "198.18.0.0/15", "2001:db8:300::/64"))
	s.Peers = append(s.Peers, peer("router6", "2001:db8:100::1", 64512, 64500))
	s.Services = nil
	for i := range n {
		v := i + 1
		s.Services = append(s.Services, svc(fmt.Sprintf("s%d", i), corev1.ServiceExternalTrafficPolicyCluster,
			fmt.Sprintf("198.%d.%d.%d", 18+v>>16, (v>>8)&255, v&255), fmt.Sprintf("2001:db8:300::%x", v)))
	}
	return s
}

// BenchmarkPlanRender measures what the speaker does for each batch of
// changes with 10,000 Services: plan the node's config and render it
// (plan+render), and, with one Service added to 10,000, plan again and
// diff against the running config's plan as the frr-agent does
// (add-one-service, reporting the commands sent to FRR).
func BenchmarkPlanRender(b *testing.B) {
	const n = 10000
	s := scaleSnapshot(n)
	b.Run(fmt.Sprintf("plan+render/services=%d", n), func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime(b))
		for b.Loop() {
			res := Plan(&s, "node1")
			if _, err := frrconfig.Render(&res.Config); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("plan/services=%d", n), func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime(b))
		for b.Loop() {
			Plan(&s, "node1")
		}
	})
	res := Plan(&s, "node1")
	b.Run(fmt.Sprintf("render/services=%d", n), func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime(b))
		for b.Loop() {
			if _, err := frrconfig.Render(&res.Config); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("add-one-service/services=%d", n), func(b *testing.B) {
		more := s
		more.Services = append(s.Services[:n:n], svc("extra", corev1.ServiceExternalTrafficPolicyCluster, "198.19.255.254", "2001:db8:300::ffff"))
		for _, bc := range []struct {
			name string
			plan func(*Snapshot) Result
		}{
			{"Plan", func(s *Snapshot) Result { return Plan(s, "node1") }},
			// the speaker's: a Planner that planned the last change
			{"Planner", (&Planner{}).planFunc("node1")},
		} {
			b.Run(bc.name, func(b *testing.B) {
				// Each round adds the Service, or removes it, and diffs
				// against the running config's plan as the frr-agent does.
				snaps := [2]*Snapshot{&s, &more}
				res := bc.plan(snaps[0])
				last, err := frrconfig.NewPlan(&res.Config)
				if err != nil {
					b.Fatal(err)
				}
				var cmds []string
				b.ReportAllocs()
				start := cpuTime(b)
				for i := 1; b.Loop(); i++ {
					res := bc.plan(snaps[i%2])
					next, err := frrconfig.NewPlan(&res.Config)
					if err != nil {
						b.Fatal(err)
					}
					if cmds, err = frrconfig.DiffPlans(last, next); err != nil {
						b.Fatal(err)
					}
					if len(cmds) == 0 {
						b.Fatal("no FRR command for an added or removed Service")
					}
					last = next
				}
				reportCPU(b, start)
				b.ReportMetric(float64(len(cmds)), "frr-commands")
			})
		}
	})
}

// planFunc is p.Plan for node.
func (p *Planner) planFunc(node string) func(*Snapshot) Result {
	return func(s *Snapshot) Result { return p.Plan(s, node) }
}
