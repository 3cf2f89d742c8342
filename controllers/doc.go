// Package controllers holds herald's controller half: the reconcilers that
// give every LoadBalancer Service its IPs and keep the IPAddressPools'
// status, around the pure allocator of package ipam.
//
// The Service reconciler reads a Service's request (spec.loadBalancerIP, the
// loadBalancerIPs, address-pool and allow-shared-ip annotations in their
// heraldlb.io/, metallb.io/ and metallb.universe.tf/ spellings), asks the
// allocator, and writes status.loadBalancer.ingress and the condition
// heraldlb.io/IPAllocated with one status patch, plus an Event. The pool
// reconciler feeds the allocator the pool set, reports invalid or
// overlapping pools on their conditions and writes assigned/available per
// family.
//
// State. The allocator's state lives in memory in the elected leader. Before
// the first allocation after it starts leading, the controller lists every
// pool and every Service from the API server (a quorum read, not the cache,
// which may lag behind the previous leader's last writes) and restores the
// IPs found in the Services' status, oldest Service first; only then does it
// allocate. So a restart or a change of leader never moves nor duplicates an
// IP.
//
// Deletion. herald uses no finalizer: when the informer reports a Service
// gone, the reconciler releases its IPs by key. A Service deleted while no
// controller runs is simply absent from the listing the next leader restores
// from, so its IPs are free: nothing leaks, and since an IP is only handed
// out again after its holder is gone from the API server, nothing is
// assigned twice. No finalizer also means that deleting a Service never
// waits on herald and uninstalling herald never strands Services.
package controllers
