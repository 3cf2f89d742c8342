package frrconfig

import (
	"hash/fnv"
	"slices"
)

// Number ranges: route tags are 1–4294967295; route-map seqs are
// 1–65535, and 65535 is the final deny of every outbound route-map.
const (
	maxTag         = 1<<32 - 1
	maxRouteMapSeq = 65534
	denySeq        = 65535
)

// tagHome is a class's preferred tag, an FNV-1a hash of its key in
// 1..maxTag.
func tagHome(key string) uint32 {
	f := fnv.New32a()
	_, _ = f.Write([]byte(key))
	return max(f.Sum32(), 1)
}

// routeMapHome is a route-map entry's preferred seq, an FNV-1a hash of the
// entry's key in 1..maxRouteMapSeq.
func routeMapHome(key string) uint32 {
	f := fnv.New32a()
	_, _ = f.Write([]byte(key))
	return f.Sum32()%maxRouteMapSeq + 1
}

// assignSeqs gives each of n members (in their canonical order) a distinct
// seq in 1..max. Every member whose home no earlier member shares keeps its
// home; the others, in order, take the next free seq after their home. Homes
// are all given out before any collision is resolved, so adding or removing
// a member moves at most the members that collide with it.
func assignSeqs(n int, home func(i int) uint32, max uint32) []uint32 {
	seqs := make([]uint32, n)
	for i := range n {
		seqs[i] = home(i)
	}
	sorted := slices.Clone(seqs)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) == n {
		return seqs // no collision: every member keeps its home
	}
	taken := make(map[uint32]struct{}, n)
	var losers []int
	for i := range n {
		h := home(i)
		if _, dup := taken[h]; dup {
			losers = append(losers, i)
			seqs[i] = h
			continue
		}
		taken[h] = struct{}{}
		seqs[i] = h
	}
	for _, i := range losers {
		s := seqs[i]
		for {
			if s >= max {
				s = 1
			} else {
				s++
			}
			if _, used := taken[s]; !used {
				break
			}
		}
		taken[s] = struct{}{}
		seqs[i] = s
	}
	return seqs
}
