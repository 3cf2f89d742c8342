// Package drill holds what the speakers and `kubectl herald drill` share
// about a failover drill: the Service annotation asking one node to give
// the Service up until an expiry, its parsing, and whether it is in force.
//
// The annotation reads
//
//	heraldlb.io/drill: NODE,EXPIRY
//
// with EXPIRY an RFC 3339 time. While it is unexpired, NODE neither
// announces the Service's prefixes by BGP nor is eligible to answer for its
// IPs in Layer 2 mode; from EXPIRY on the speakers ignore it, so that a
// drill whose kubectl was killed ends by itself.
package drill
