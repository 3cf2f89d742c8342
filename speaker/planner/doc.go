// Package planner decides, with no I/O, what one node announces: from a
// typed Snapshot of the cluster (Services, EndpointSlices, Nodes and herald's
// objects) and the node's name, Plan returns the frrconfig.Config the node's
// FRR runs (peers, prefixes per peer with their communities and local-pref,
// BFD profiles, passwords), the Layer 2 inputs (each IP, the nodes eligible
// to answer for it and the interfaces), and the cross-object Problems it
// found, each naming the object, the field and the fix.
//
// The semantics are MetalLB's:
//   - a BGPPeer is opened by the nodes its nodeSelectors match (none: all);
//   - a BGPAdvertisement announces the addresses of the pools it names or
//     selects (neither: every pool) from the nodes its nodeSelectors match
//     to the peers it names (none: every peer of the node), as prefixes of
//     aggregationLength / aggregationLengthV6, with its communities (values
//     or Community aliases, standard and large) and localPref, which is only
//     sent to iBGP peers; several advertisements reaching one prefix and one
//     peer add their communities up;
//   - a Service with externalTrafficPolicy Local is announced only from nodes
//     with a ready endpoint; a node labelled
//     node.kubernetes.io/exclude-from-external-load-balancers, cordoned, or
//     with a NoSchedule/NoExecute taint of Snapshot.DrainTaints drains (see
//     DrainReason and Result.Drain: graceful shutdown, then nothing
//     announced; no Layer 2 IP), and one whose NetworkUnavailable
//     condition is True announces nothing at once (its sessions stay up). A Cluster Service is announced whether or not it has ready
//     endpoints (MetalLB withdraws it then; herald keeps the route so that a
//     rollout through zero replicas does not flap it at the routers).
//
// Between conflicting objects the one already in effect wins, as
// internal/verdict decides for the controller too: the oldest
// (creationTimestamp, then name). Pools overlapping an older pool are left
// out (the controller reports them); a second BGPPeer for a neighbor a node
// already peers with, or with another myASN in the same VRF, is not opened
// and is reported; a Community alias keeps the oldest Community's value.
// A BGPPeer whose address is a Service's IP or inside a pool is never
// established.
//
// A broken object (a BGPPeer naming an unknown BFDProfile or a missing
// password Secret, a BGPAdvertisement with an unknown Community alias or an
// aggregation length shorter than a pool's prefix, a node or pool selector
// that does not parse in a BGPPeer, BGPAdvertisement or L2Advertisement)
// never disturbs the others: it keeps its last good version when the caller
// passes one in Snapshot.LastGood (Plan returns the versions to keep for
// next time), and is left out otherwise. A pool the controller rejects as
// invalid keeps its last good addresses (or, with none known, those that
// parse), as the controller keeps its last good definition. Naming a pool or a peer that does not exist is reported
// but the rest of the object applies. When two advertisements give one prefix
// different local preferences towards one peer, both are reported and the one
// whose name sorts first wins, so the prefix stays announced.
//
// A Service annotated heraldlb.io/drill: NODE,EXPIRY (internal/drill;
// kubectl herald drill writes it) is given up by NODE while the drill is in
// force at Snapshot.Now (drill.go): NODE announces none of its prefixes and
// is not eligible for its Layer 2 IPs. A zero Now honours no drill.
//
// Validate is the node-independent view of the same checks, which the
// controller writes to the objects' status conditions.
package planner
