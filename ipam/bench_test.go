package ipam

import (
	"flag"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
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
// Service, with 0 or up to 1M other Services holding addresses of the same
// pools: the cost per operation must not depend on pool size or on how
// many Services exist. Each case builds its preloaded allocator only when
// it is selected. The cases call AllocateTo with a reused buffer, except
// v4-/8-Allocate, which calls Allocate (one allocation: the returned
// slice).
func BenchmarkAllocateRelease(b *testing.B) {
	for _, bc := range []struct {
		name    string
		svc     Service
		preload int
	}{
		{name: "v4-/8", svc: Service{IPFamilies: []Family{IPv4}}},
		{name: "v4-/8-Allocate", svc: Service{IPFamilies: []Family{IPv4}}},
		{name: "v6-/64", svc: Service{IPFamilies: []Family{IPv6}}},
		{name: "dual-/8+/64", svc: Service{IPFamilyPolicy: RequireDualStack}},
		{name: "v4-/8-100k-services", svc: Service{IPFamilies: []Family{IPv4}}, preload: 100_000},
		{name: "v6-/64-100k-services", svc: Service{IPFamilies: []Family{IPv6}}, preload: 100_000},
		{name: "dual-100k-services", svc: Service{IPFamilyPolicy: RequireDualStack}, preload: 100_000},
		{name: "v4-/8-1M-services", svc: Service{IPFamilies: []Family{IPv4}}, preload: 1_000_000},
	} {
		var a *Allocator // built once per case, on the first b.N tried
		b.Run(bc.name, func(b *testing.B) {
			if a == nil {
				a = preloaded(b, benchPools, bc.svc, bc.preload, true)
			}
			// Each operation leaves the allocator as it found it.
			if strings.HasSuffix(bc.name, "-Allocate") {
				benchAllocateReleaseSlice(b, a, bc.svc)
				return
			}
			benchAllocateRelease(b, a, bc.svc)
		})
	}
}

// BenchmarkAllocateRelease16M is BenchmarkAllocateRelease in pools of 2^24
// addresses (a /8 IPv4, a /104 IPv6), near-empty (nothing else allocated)
// and near-full (all but 1,000 addresses held by other Services, so that
// the cursor is nearly spent and addresses come from the free list). The
// near-full cases hold 16.8M Services (a 7.3 GB peak resident set and 9
// minutes of CPU to build, on a 2-vCPU VM): they run only with -nearfull
// (go test -run '^$' -bench AllocateRelease16M ./ipam/ -args -nearfull).
func BenchmarkAllocateRelease16M(b *testing.B) {
	const size = 1 << 24
	for _, bc := range []struct {
		name string
		pool Pool
		fam  Family
		used int
	}{
		{name: "v4-/8-near-empty", pool: pool("v4", "10.0.0.0/8"), fam: IPv4},
		{name: "v6-/104-near-empty", pool: pool("v6", "2001:db8::/104"), fam: IPv6},
		{name: "v4-/8-near-full", pool: pool("v4", "10.0.0.0/8"), fam: IPv4, used: size - 1000},
		{name: "v6-/104-near-full", pool: pool("v6", "2001:db8::/104"), fam: IPv6, used: size - 1000},
	} {
		var a *Allocator // built once per case, on the first b.N tried
		b.Run(bc.name, func(b *testing.B) {
			if bc.used > 0 && !*nearFull {
				b.Skip("needs a 7 GB resident set and minutes to build: run with -args -nearfull")
			}
			svc := Service{IPFamilies: []Family{bc.fam}}
			if a == nil {
				a = preloaded(b, []Pool{bc.pool}, svc, bc.used, false)
			}
			st := a.Stats()[bc.pool.Name]
			fs := st.IPv4
			if bc.fam == IPv6 {
				fs = st.IPv6
			}
			benchAllocateRelease(b, a, svc)
			b.ReportMetric(float64(fs.Available.Int64()), "free-addresses")
		})
	}
}

var nearFull = flag.Bool("nearfull", false, "run BenchmarkAllocateRelease16M's near-full cases (a 7 GB resident set)")

// preloaded returns an allocator with pools and n Services like svc holding
// addresses; with alternate, every other Service is IPv6-only.
func preloaded(b *testing.B, pools []Pool, svc Service, n int, alternate bool) *Allocator {
	b.Helper()
	a := New()
	if res := a.SetPools(pools); len(res.Errors) > 0 {
		b.Fatal(res.Errors)
	}
	for i := range n {
		s := svc
		s.Key = "ns/svc-" + strconv.Itoa(i)
		if alternate && i%2 == 1 {
			s.IPFamilies = []Family{IPv6}
		}
		if _, err := a.Allocate(s); err != nil {
			b.Fatal(err)
		}
	}
	return a
}

// benchAllocateRelease runs b.N AllocateTo+Release pairs of one new Service
// like svc.
func benchAllocateRelease(b *testing.B, a *Allocator, svc Service) {
	svc.Key = "bench/svc"
	buf := make([]netip.Addr, 0, 2)
	runtime.GC() // the preload's garbage is not the operations' cost
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		var err error
		if buf, err = a.AllocateTo(buf[:0], &svc); err != nil {
			b.Fatal(err)
		}
		a.Release(svc.Key)
	}
	reportCPU(b, cpu)
}

// benchAllocateReleaseSlice is benchAllocateRelease calling Allocate.
func benchAllocateReleaseSlice(b *testing.B, a *Allocator, svc Service) {
	svc.Key = "bench/svc"
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		if _, err := a.Allocate(svc); err != nil {
			b.Fatal(err)
		}
		a.Release(svc.Key)
	}
	reportCPU(b, cpu)
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
