// Package ipam is herald's address allocator: a pure, concurrency-safe model
// of which LoadBalancer Service holds which addresses of which
// IPAddressPool. It does no I/O and knows nothing of the API server; the
// controller translates Services and pools into Service and Pool values.
//
// # Use
//
//	a := ipam.New()
//	res := a.SetPools(pools)          // per-pool errors, Services to re-allocate
//	for _, s := range services {      // after a restart, before anything new:
//		a.Restore(s, statusIPs(s))    // rebuild from Service status
//	}
//	ips, err := a.Allocate(svc)       // keep, request, or pick addresses
//	buf, err = a.AllocateTo(buf[:0], &svc) // the same, into a reused buffer
//	var e *ipam.Error
//	if errors.As(err, &e) { ... e.Reason, e.Message ... }
//	a.Release(svc.Key)                // Service deleted or no longer ours
//	a.Stats()                         // per pool and family counts
//
// # Semantics
//
// MetalLB's, with its weaknesses removed. Addresses are CIDRs or inclusive
// a-b ranges of one family (ParseRange); avoidBuggyIPs skips IPv4 .0 and
// .255. A pool set is validated pool by pool: a bad pool (syntax, no usable
// address, overlap with another pool) is reported and keeps its last good
// definition, so existing assignments never move because of a bad edit.
// Allocate's order is: existing valid addresses, requested addresses, the
// annotated pool, autoAssign pools admitted by serviceAllocation by
// priority (lower first, 0 last) then name, other autoAssign pools by name.
// Two Services share an address only with the same sharing key, no
// (protocol, port) clash, the same externalTrafficPolicy and, for Local,
// the same selector. A Service gets one address per family; the addresses
// of a dual-stack Service come from one pool (so that one pool's
// advertisements announce both), except requested addresses. Failures are
// *Error values whose Reason (NoMatchingPool, PoolExhausted,
// SharingConflict, RequestedIPUnavailable, InvalidRequest, ...) goes on the
// Service's condition and whose Message says what to change; a failed
// Allocate changes nothing.
//
// # Cost
//
// Allocate and Release are O(1) amortised per address whatever the pool
// size (a /8 or a /64 alike), plus O(log r) to find an address's range
// among r ranges: each pool family hands out never-used addresses from a
// cursor that walks its ranges once, and released addresses from a free
// list; a hash set of used addresses lets both skip addresses taken out of
// order (the free list is checked against it only after such a take). A
// Service's record holds its addresses' records: an allocate+release pair
// is two lookups and an insert and a delete in the Service index, an
// insert and a delete in the used set, and two mutex lock/unlock pairs.
// Untouched addresses cost no memory. With a sharing key, finding
// an address to share costs O(k) in the k addresses used with that key.
// Counts in Stats are exact big.Int values (a /64 holds 2^64 addresses).
package ipam
