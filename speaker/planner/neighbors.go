package planner

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/heraldlb/herald/frrconfig"
)

// The per-neighbor state of one plan: its prefixes and their attributes,
// their order, and the sorted-list helpers that merge them.

// neighborState is one neighbor of the node being planned.
type neighborState struct {
	peer   Peer
	key    string
	router int
	// index maps each prefix given to the neighbor to its attributes in
	// adv, which holds them in the order the prefixes came.
	index map[netip.Prefix]int32
	adv   []attrs
}

// sorted returns the indexes of n.adv in prefix order. prev, the
// neighbor's prefixes in the last plan (sorted), saves most of the sort:
// the prefixes found in it are taken in its order, and only the others
// are sorted and merged in. A prev that is not sorted is ignored.
func (n *neighborState) sorted(prev []netip.Prefix) []int32 {
	order := make([]int32, 0, len(n.adv))
	var used []bool
	if len(prev) > 0 {
		used = make([]bool, len(n.adv))
		for _, p := range prev {
			i, ok := n.index[p]
			if !ok || used[i] {
				continue
			}
			if len(order) > 0 && comparePrefixes(n.adv[order[len(order)-1]].prefix, p) >= 0 {
				order, used = order[:0], nil // not sorted: sort everything
				break
			}
			used[i] = true
			order = append(order, i)
		}
	}
	var rest []prefixAt
	for i := range n.adv {
		if used == nil || !used[i] {
			rest = append(rest, prefixAt{keyOf(n.adv[i].prefix), int32(i)})
		}
	}
	// Sorted through a small key, not the attributes themselves.
	slices.SortFunc(rest, func(a, b prefixAt) int { return a.k.compare(b.k) })
	if len(order) == 0 {
		for _, r := range rest {
			order = append(order, r.i)
		}
		return order
	}
	if len(rest) == 0 {
		return order
	}
	out := make([]int32, 0, len(n.adv))
	j := 0
	for _, i := range order {
		k := keyOf(n.adv[i].prefix)
		for j < len(rest) && rest[j].k.compare(k) < 0 {
			out = append(out, rest[j].i)
			j++
		}
		out = append(out, i)
	}
	for ; j < len(rest); j++ {
		out = append(out, rest[j].i)
	}
	return out
}

// prefixAt is a prefix's sort key and its index in neighborState.adv.
type prefixAt struct {
	k prefixKey
	i int32
}

// prefixKey orders prefixes as comparePrefixes does, with integer
// comparisons only: hi is 0 for IPv4 and IPv6's upper half plus one bit
// above it (IPv4 sorts first), lo the rest of the address, bits the length.
type prefixKey struct {
	hi, lo uint64
	hi6    bool
	bits   int
}

func keyOf(p netip.Prefix) prefixKey {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		return prefixKey{lo: uint64(binary.BigEndian.Uint32(b[:])), bits: p.Bits()}
	}
	b := a.As16()
	return prefixKey{hi6: true, hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), bits: p.Bits()}
}

func (k prefixKey) compare(o prefixKey) int {
	if k.hi6 != o.hi6 {
		if k.hi6 {
			return 1
		}
		return -1
	}
	if k.hi != o.hi {
		return cmp.Compare(k.hi, o.hi)
	}
	if k.lo != o.lo {
		return cmp.Compare(k.lo, o.lo)
	}
	return cmp.Compare(k.bits, o.bits)
}

// attrs are the attributes of one prefix given to a neighbor.
type attrs struct {
	prefix netip.Prefix
	// comms and large are sorted and without duplicates; until a second
	// advertisement adds to them they are the first one's own (clipped)
	// slices, shared by every prefix it gives.
	comms, large []string
	localPref    *uint32
	lpFrom       string
}

func neighborKey(n *frrconfig.Neighbor) string {
	if n.Interface != "" {
		return n.Interface
	}
	return n.Address.String()
}

// setFamilies decides the address families of each neighbor: the family
// of its address (both when unnumbered) and the families of every pool an
// advertisement of this node may send it. Services play no part: the first
// Service of a family, or the removal of the last, must not change a
// session's families, which FRR can only apply by resetting the session.
func (w *world) setFamilies(neighbors []*neighborState, advNode []bool) {
	for _, n := range neighbors {
		var v4, v6 bool
		switch {
		case n.peer.Neighbor.Interface != "":
			v4, v6 = true, true
		case n.peer.Neighbor.Address.Is4():
			v4 = true
		default:
			v6 = true
		}
		for ai := range w.advs {
			a := &w.advs[ai]
			if !advNode[ai] || (len(a.Spec.Peers) > 0 && !slices.Contains(a.Spec.Peers, n.peer.Name)) {
				continue
			}
			for _, p := range w.poolList {
				if v4 && v6 {
					break
				}
				if !a.selectsPool(p) {
					continue
				}
				for _, e := range p.entries {
					v4, v6 = v4 || !e.v6, v6 || e.v6
				}
			}
		}
		n.peer.Neighbor.Families = nil
		if v4 {
			n.peer.Neighbor.Families = append(n.peer.Neighbor.Families, frrconfig.FamilyIPv4)
		}
		if v6 {
			n.peer.Neighbor.Families = append(n.peer.Neighbor.Families, frrconfig.FamilyIPv6)
		}
	}
}

// add gives prefix to the neighbor with a's attributes, merging with what
// other advertisements gave it.
func (n *neighborState) add(prefix netip.Prefix, a *Advertisement, probs *problems, node string) {
	i, ok := n.index[prefix]
	if !ok {
		i = int32(len(n.adv))
		n.index[prefix] = i
		n.adv = append(n.adv, attrs{prefix: prefix})
	}
	at := &n.adv[i]
	at.comms = unionSorted(at.comms, a.Communities)
	at.large = unionSorted(at.large, a.LargeCommunities)
	if a.Spec.LocalPref == 0 || !n.peer.IBGP {
		// LOCAL_PREF only goes to iBGP peers: towards others there is
		// nothing to set and nothing to conflict.
		return
	}
	if at.localPref == nil {
		lp := a.Spec.LocalPref
		at.localPref, at.lpFrom = &lp, a.Name
		return
	}
	if *at.localPref == a.Spec.LocalPref || at.lpFrom == a.Name {
		return
	}
	msg := func(own uint32, other string, theirs uint32) string {
		return fmt.Sprintf("gives %s to BGPPeer %s (from node %s) localPref %d, but BGPAdvertisement %s gives it localPref %d: give both the same localPref, or make them select different pools, peers or nodes",
			prefix, n.peer.Name, node, own, other, theirs)
	}
	effect := fmt.Sprintf("announcing it with localPref %d from BGPAdvertisement %s, whose name sorts first", *at.localPref, at.lpFrom)
	probs.add(Problem{Kind: KindBGPAdvertisement, Name: a.Name, Field: "spec.localPref", Reason: ReasonLocalPrefConflict,
		Message: msg(a.Spec.LocalPref, at.lpFrom, *at.localPref), Effect: effect})
	probs.add(Problem{Kind: KindBGPAdvertisement, Name: at.lpFrom, Field: "spec.localPref", Reason: ReasonLocalPrefConflict,
		Message: msg(*at.localPref, a.Name, a.Spec.LocalPref), Effect: effect})
}

// routerIDText names a router ID, or says there is none.
func routerIDText(id netip.Addr) string {
	if !id.IsValid() {
		return "none (FRR picks one)"
	}
	return id.String()
}

// comparePrefixes orders prefixes by address (IPv4 first), then shorter
// first: the order of frrconfig's lists.
func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// mergePrefixes merges sorted lists without duplicates into one per
// family, sorted and without duplicates (nil for a family with none).
func mergePrefixes(lists [][]netip.Prefix) (v4, v6 []netip.Prefix) {
	var all []netip.Prefix
	for _, l := range lists {
		all = mergeTwo(all, l)
	}
	split, _ := slices.BinarySearchFunc(all, true, func(p netip.Prefix, _ bool) int {
		if p.Addr().Is4() {
			return -1
		}
		return 1
	})
	if split > 0 {
		v4 = slices.Clone(all[:split])
	}
	if split < len(all) {
		v6 = slices.Clone(all[split:])
	}
	return v4, v6
}

// mergeTwo merges two sorted lists without duplicates.
func mergeTwo(a, b []netip.Prefix) []netip.Prefix {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 || slices.Equal(a, b) {
		return a
	}
	out := make([]netip.Prefix, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := comparePrefixes(a[i], b[j]); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// sortedSet reports whether s is sorted without duplicates.
func sortedSet(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// unionSorted returns the union of two sorted lists without duplicates:
// b itself (clipped, so that no append reaches its array) when a is empty,
// and a when b adds nothing.
func unionSorted(a, b []string) []string {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0 && sortedSet(b):
		return slices.Clip(b)
	}
	adds := !sortedSet(b)
	for _, x := range b {
		if _, found := slices.BinarySearch(a, x); !found {
			adds = true
			break
		}
	}
	if !adds {
		return a
	}
	out := make([]string, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
