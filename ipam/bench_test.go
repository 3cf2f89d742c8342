package ipam

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchPools: a /8 IPv4 pool (16M addresses) and a /64 IPv6 pool, both
// usable for dual-stack.
var benchPools = []Pool{pool("big", "10.0.0.0/8", "2001:db8::/64")}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("ns/svc-%d", i)
	}
	return keys
}

// BenchmarkAllocateRelease measures one Allocate plus one Release of a new
// Service, with 0 or 100k other Services holding addresses of the same
// pools: the cost per operation must not depend on pool size or on how
// many Services exist.
func BenchmarkAllocateRelease(b *testing.B) {
	for _, bc := range []struct {
		name    string
		svc     Service
		preload int
	}{
		{name: "v4-/8", svc: Service{IPFamilies: []Family{IPv4}}},
		{name: "v6-/64", svc: Service{IPFamilies: []Family{IPv6}}},
		{name: "dual-/8+/64", svc: Service{IPFamilyPolicy: RequireDualStack}},
		{name: "v4-/8-100k-services", svc: Service{IPFamilies: []Family{IPv4}}, preload: 100_000},
		{name: "v6-/64-100k-services", svc: Service{IPFamilies: []Family{IPv6}}, preload: 100_000},
		{name: "dual-100k-services", svc: Service{IPFamilyPolicy: RequireDualStack}, preload: 100_000},
		{name: "v4-/8-1M-services", svc: Service{IPFamilies: []Family{IPv4}}, preload: 1_000_000},
	} {
		// The preloaded allocator is built once per case: each
		// operation below leaves it as it found it.
		a := New()
		a.SetPools(benchPools)
		for i, k := range benchKeys(bc.preload) {
			s := bc.svc
			s.Key = k
			if i%2 == 1 { // the other half in the other family
				s.IPFamilies = []Family{IPv6}
			}
			if _, err := a.Allocate(s); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(bc.name, func(b *testing.B) {
			s := bc.svc
			s.Key = "bench/svc"
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for range b.N {
				if _, err := a.Allocate(s); err != nil {
					b.Fatal(err)
				}
				a.Release(s.Key)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkAllocateFresh measures allocations that each take a never-used
// address (the cursor path, no release), b.N distinct Services in a /8 and
// in a /64.
func BenchmarkAllocateFresh(b *testing.B) {
	for _, bc := range []struct {
		name string
		svc  Service
	}{
		{name: "v4-/8", svc: Service{IPFamilies: []Family{IPv4}}},
		{name: "v6-/64", svc: Service{IPFamilies: []Family{IPv6}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := New()
			a.SetPools(benchPools)
			keys := benchKeys(b.N)
			s := bc.svc
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for _, k := range keys {
				s.Key = k
				if _, err := a.Allocate(s); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkSetPools measures replacing the pool set with 100k Services
// holding addresses (recounting them is O(addresses held)).
func BenchmarkSetPools(b *testing.B) {
	a := New()
	a.SetPools(benchPools)
	for _, k := range benchKeys(100_000) {
		if _, err := a.Allocate(Service{Key: k}); err != nil {
			b.Fatal(err)
		}
	}
	changed := []Pool{pool("big", "10.0.0.0/8", "2001:db8::/64", "192.0.2.0/24")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if res := a.SetPools([][]Pool{benchPools, changed}[i%2]); len(res.Errors) > 0 || len(res.Stale) > 0 {
			b.Fatal(res)
		}
	}
}

// BenchmarkMemoryPerService reports the heap held per allocated Service
// (single-stack, 100k Services in a /8), as B/service.
func BenchmarkMemoryPerService(b *testing.B) {
	const n = 100_000
	keys := benchKeys(n)
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a := New()
		a.SetPools(benchPools)
		for _, k := range keys {
			if _, err := a.Allocate(Service{Key: k}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/n, "B/service")
		runtime.KeepAlive(a)
	}
}

// reportCPU reports the process CPU time per operation since start
// (garbage collection included), as cpu-ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	if start > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}
