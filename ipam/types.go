package ipam

import (
	"math/big"
	"net/netip"

	"k8s.io/apimachinery/pkg/labels"
)

// Family is an IP address family. The values are those of Kubernetes'
// core/v1 IPFamily, so ipam.Family(svc.Spec.IPFamilies[0]) converts.
type Family string

// The two address families.
const (
	IPv4 Family = "IPv4"
	IPv6 Family = "IPv6"
)

// FamilyOf returns the family of a valid address.
func FamilyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// FamilyPolicy is a Service's ipFamilyPolicy. The values are Kubernetes'.
type FamilyPolicy string

// The three family policies. The zero value is treated as SingleStack.
const (
	SingleStack      FamilyPolicy = "SingleStack"
	PreferDualStack  FamilyPolicy = "PreferDualStack"
	RequireDualStack FamilyPolicy = "RequireDualStack"
)

// TrafficPolicy is a Service's externalTrafficPolicy. The zero value is
// treated as Cluster.
type TrafficPolicy string

// The two traffic policies.
const (
	TrafficCluster TrafficPolicy = "Cluster"
	TrafficLocal   TrafficPolicy = "Local"
)

// Port is one (protocol, port) pair a Service exposes. Protocol uses
// Kubernetes' spelling ("TCP", "UDP", "SCTP"); empty means TCP.
type Port struct {
	Protocol string
	Port     int32
}

// Service is what the allocator needs to know about a LoadBalancer Service.
// The allocator copies what it keeps; callers may reuse the value.
type Service struct {
	// Key identifies the Service, conventionally "namespace/name".
	Key string
	// Namespace and NamespaceLabels are matched against a pool's
	// serviceAllocation namespaces and namespaceSelectors.
	Namespace       string
	NamespaceLabels map[string]string
	// Labels are the Service's labels, matched against serviceSelectors.
	Labels map[string]string
	// IPFamilyPolicy and IPFamilies are spec.ipFamilyPolicy and
	// spec.ipFamilies. IPFamilies[0] is the primary family; when IPFamilies
	// is empty the families of RequestedIPs are used, else IPv4.
	IPFamilyPolicy FamilyPolicy
	IPFamilies     []Family
	// RequestedIPs are spec.loadBalancerIP or the loadBalancerIPs
	// annotation: at most one per family. See ParseIPList.
	RequestedIPs []netip.Addr
	// Pool is the address-pool annotation: when set, only that pool is used.
	Pool string
	// SharingKey is the allow-shared-ip annotation; empty means the
	// Service shares its addresses with nobody.
	SharingKey string
	// Ports, TrafficPolicy and Selector decide whether two Services with
	// the same SharingKey may share an address.
	Ports         []Port
	TrafficPolicy TrafficPolicy
	Selector      map[string]string
}

// ServiceAllocation restricts a pool to some Services and orders the pools
// tried for automatic allocation, with MetalLB's meaning.
type ServiceAllocation struct {
	// Priority: lower numbers are tried first; 0 (unset) is tried last.
	Priority int
	// Namespaces and NamespaceSelectors: the Service's namespace must be
	// listed or match one selector; when both are empty every namespace
	// matches.
	Namespaces         []string
	NamespaceSelectors []labels.Selector
	// ServiceSelectors: the Service's labels must match one selector; when
	// empty every Service matches.
	ServiceSelectors []labels.Selector
}

// Pool is one IPAddressPool as the allocator sees it.
type Pool struct {
	// Name is unique within the set given to SetPools.
	Name string
	// Addresses are CIDRs ("192.0.2.0/24", "2001:db8::/64") and inclusive
	// ranges ("192.0.2.10-192.0.2.20"), see ParseRange.
	Addresses []string
	// AutoAssign: the pool is used for automatic allocation. When false, only
	// Services naming the pool or requesting one of its addresses get
	// addresses from it. (The API defaults it to true; the Go zero value is
	// false.)
	AutoAssign bool
	// AvoidBuggyIPs skips IPv4 addresses ending in .0 and .255.
	AvoidBuggyIPs bool
	// ServiceAllocation, when set, restricts which Services may use the pool
	// and gives its priority.
	ServiceAllocation *ServiceAllocation
}

// PoolsResult is what SetPools reports.
type PoolsResult struct {
	// Errors holds, per rejected pool name, why it was rejected. A rejected
	// pool keeps its last accepted definition (and the addresses assigned
	// from it) if it had one, and is absent otherwise.
	Errors map[string]*Error
	// Stale lists, sorted, the keys of Services holding an address that is no
	// longer a usable address of any pool. Their addresses stay reserved
	// until the caller calls Allocate (which replaces them) or Release;
	// since a failed Allocate changes nothing, a caller that cannot
	// re-allocate such a Service should Release it (and clear its status).
	// Services whose address is still in a pool but no longer admitted by
	// its serviceAllocation are not listed: Allocate moves them, and keeps
	// every still-valid assignment, so calling it for every Service after
	// SetPools is cheap and correct.
	Stale []string
}

// FamilyStats counts one pool's addresses of one family. The counts are
// exact big.Int values, since a /64 holds 2^64 addresses (one more than a
// uint64 can hold). Assigned counts addresses, not Services: an address
// shared by three Services counts once.
type FamilyStats struct {
	Total     *big.Int
	Assigned  *big.Int
	Available *big.Int
}

// PoolStats counts a pool's addresses per family.
type PoolStats struct {
	IPv4 FamilyStats
	IPv6 FamilyStats
}
