package admission

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/ipam"
)

// ForceAnnotation on a pool lets an edit strand allocated IPs.
const ForceAnnotation = "heraldlb.io/force"

// OverlappingPools returns, sorted, one line per other pool whose
// addresses overlap pool's: "pool b (192.0.2.0/24 overlaps 192.0.2.128/25)".
// Pools whose addresses do not parse are skipped (CEL rejects them).
//
// It is stricter than internal/verdict, on purpose: the verdict (shared by
// the controller and the speakers) keeps the oldest of overlapping pools in
// effect and rejects the newer, whichever was edited; the webhook denies any
// overlap an edit adds, so that an older pool edited to overlap a newer
// live one cannot take its addresses either.
func OverlappingPools(pool *v1beta1.IPAddressPool, pools []v1beta1.IPAddressPool) []string {
	mine := ranges(pool)
	var out []string
	for i := range pools {
		o := &pools[i]
		if o.Name == pool.Name {
			continue
		}
		for _, r := range ranges(o) {
			for _, m := range mine {
				if m.Overlaps(r) {
					out = append(out, fmt.Sprintf("pool %s (%s overlaps %s)", o.Name, m, r))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func ranges(p *v1beta1.IPAddressPool) []ipam.Range {
	var out []ipam.Range
	for _, a := range p.Spec.Addresses {
		if r, err := ipam.ParseRange(string(a)); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// Stranded is one Service holding IPs a pool edit takes away.
type Stranded struct {
	// Service is namespace/name.
	Service string
	// IPs are the addresses it would lose.
	IPs []netip.Addr
}

// StrandedIPs returns the Services served by the controller of lbClass
// holding addresses of old that new (nil for a deletion) no longer
// contains, sorted by Service.
func StrandedIPs(old, new *v1beta1.IPAddressPool, services []corev1.Service, lbClass string) []Stranded {
	before := ranges(old)
	var after []ipam.Range
	if new != nil {
		after = ranges(new)
	}
	in := func(rs []ipam.Range, ip netip.Addr) bool {
		for _, r := range rs {
			if r.Contains(ip) {
				return true
			}
		}
		return false
	}
	var out []Stranded
	for i := range services {
		svc := &services[i]
		if !controllers.Serves(svc, lbClass) {
			continue
		}
		var lost []netip.Addr
		for _, ip := range controllers.StatusIPs(svc) {
			if in(before, ip) && !in(after, ip) {
				lost = append(lost, ip)
			}
		}
		if len(lost) > 0 {
			out = append(out, Stranded{Service: svc.Namespace + "/" + svc.Name, IPs: lost})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// list joins items with ", ", at most max of them, then "and N more".
func list(items []string, max int) string {
	if len(items) > max {
		return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
	}
	return strings.Join(items, ", ")
}
