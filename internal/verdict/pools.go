package verdict

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/ipam"
)

// Pools is the verdict on a set of IPAddressPools.
type Pools struct {
	// InEffect are the names of the pools in effect, oldest first. Their
	// addresses never overlap.
	InEffect []string
	// Rejected holds why each other pool is rejected, by name.
	Rejected map[string]Rejection
}

// DecidePools judges pools: a pool unusable on its own (IPAMPool or
// ipam.CheckPool fails) is rejected with ReasonInvalidPool; among pools
// sharing addresses, the oldest (Compare) is in effect and each newer one is
// rejected with ReasonOverlappingPool, naming the older pool. A rejected
// pool does not take addresses from the pools it overlaps.
func DecidePools(pools []v1beta1.IPAddressPool) Pools {
	sorted := make([]*v1beta1.IPAddressPool, len(pools))
	for i := range pools {
		sorted[i] = &pools[i]
	}
	sortPtrs(sorted)
	out := Pools{Rejected: map[string]Rejection{}}
	type taken struct {
		r    ipam.Range
		pool string
	}
	var in []taken
	for _, p := range sorted {
		ip, err := IPAMPool(p)
		if err == nil {
			err = ipam.CheckPool(ip)
		}
		if err != nil {
			out.Rejected[p.Name] = Rejection{Kind: KindIPAddressPool, Name: p.Name, Field: "spec", Reason: ReasonInvalidPool, Message: err.Error()}
			continue
		}
		ranges, _ := ipam.ParseAddresses(ip.Addresses) // CheckPool parsed them
		var clash *Rejection
		for i, r := range ranges {
			for _, t := range in {
				if !r.Overlaps(t.r) {
					continue
				}
				clash = &Rejection{Kind: KindIPAddressPool, Name: p.Name, Field: fmt.Sprintf("spec.addresses[%d]", addressIndex(p, r, i)),
					Reason: ReasonOverlappingPool, InEffect: t.pool,
					Message: fmt.Sprintf("addresses %s overlap %s of pool %q, which is older and keeps them: remove the shared addresses %s from this pool (or from pool %q)",
						r, t.r, t.pool, intersect(r, t.r), t.pool)}
				break
			}
			if clash != nil {
				break
			}
		}
		if clash != nil {
			out.Rejected[p.Name] = *clash
			continue
		}
		for _, r := range ranges {
			in = append(in, taken{r: r, pool: p.Name})
		}
		out.InEffect = append(out.InEffect, p.Name)
	}
	return out
}

// addressIndex finds which entry of p's addresses r came from; ranges are
// parsed in order, one per entry, so i is the fallback.
func addressIndex(p *v1beta1.IPAddressPool, r ipam.Range, i int) int {
	for j, a := range p.Spec.Addresses {
		if pr, err := ipam.ParseRange(string(a)); err == nil && pr == r {
			return j
		}
	}
	return i
}

// intersect writes the shared part of two overlapping ranges.
func intersect(a, b ipam.Range) ipam.Range {
	out := a
	if out.First.Less(b.First) {
		out.First = b.First
	}
	if b.Last.Less(out.Last) {
		out.Last = b.Last
	}
	return out
}

// IPAMPool converts an IPAddressPool to the allocator's view. The error
// names the pool, the field and the fix (a label selector that does not
// parse).
func IPAMPool(p *v1beta1.IPAddressPool) (ipam.Pool, error) {
	out := ipam.Pool{
		Name:          p.Name,
		AutoAssign:    p.Spec.AutoAssign == nil || *p.Spec.AutoAssign,
		AvoidBuggyIPs: p.Spec.AvoidBuggyIPs,
	}
	for _, a := range p.Spec.Addresses {
		out.Addresses = append(out.Addresses, string(a))
	}
	sa := p.Spec.ServiceAllocation
	if sa == nil {
		return out, nil
	}
	out.ServiceAllocation = &ipam.ServiceAllocation{Priority: sa.Priority, Namespaces: sa.Namespaces}
	conv := func(field string, sels []metav1.LabelSelector) ([]labels.Selector, error) {
		var res []labels.Selector
		for i := range sels {
			s, err := metav1.LabelSelectorAsSelector(&sels[i])
			if err != nil {
				return nil, fmt.Errorf("pool %q: spec.serviceAllocation.%s[%d] is not a valid label selector (%v); fix the selector", p.Name, field, i, err)
			}
			res = append(res, s)
		}
		return res, nil
	}
	var err error
	if out.ServiceAllocation.NamespaceSelectors, err = conv("namespaceSelectors", sa.NamespaceSelectors); err != nil {
		return ipam.Pool{}, err
	}
	if out.ServiceAllocation.ServiceSelectors, err = conv("serviceSelectors", sa.ServiceSelectors); err != nil {
		return ipam.Pool{}, err
	}
	return out, nil
}

// sortPtrs sorts pointers to objects oldest first.
func sortPtrs[PT metav1.Object](objs []PT) {
	sortSlice(objs, func(a, b PT) int { return Compare(a, b) })
}
