package v1beta1

import (
	"math/big"
	"strings"
)

// PoolCounts are a pool's address counts per family. A nil count means the
// pool has no address of that family. big.Int, because an IPv6 pool can
// hold up to 2^128 addresses.
//
// +kubebuilder:object:generate=false
type PoolCounts struct {
	AssignedIPv4, AvailableIPv4 *big.Int
	AssignedIPv6, AvailableIPv6 *big.Int
}

// SetCounts writes c into the status: the per-family decimal fields and the
// Assigned/Available summaries `kubectl get ipaddresspools` shows.
func (s *IPAddressPoolStatus) SetCounts(c PoolCounts) {
	s.AssignedIPv4, s.AvailableIPv4 = decimal(c.AssignedIPv4), decimal(c.AvailableIPv4)
	s.AssignedIPv6, s.AvailableIPv6 = decimal(c.AssignedIPv6), decimal(c.AvailableIPv6)
	s.Assigned = summary(s.AssignedIPv4, s.AssignedIPv6)
	s.Available = summary(s.AvailableIPv4, s.AvailableIPv6)
}

func decimal(n *big.Int) string {
	if n == nil {
		return ""
	}
	return n.String()
}

func summary(v4, v6 string) string {
	var parts []string
	if v4 != "" {
		parts = append(parts, v4+" v4")
	}
	if v6 != "" {
		parts = append(parts, v6+" v6")
	}
	return strings.Join(parts, ", ")
}
