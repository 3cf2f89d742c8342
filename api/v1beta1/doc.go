// Package v1beta1 holds herald's API, group heraldlb.io, version v1beta1:
// the objects an operator writes (IPAddressPool, BGPPeer, BFDProfile,
// BGPAdvertisement, L2Advertisement, Community) and the one the speaker
// writes about its node (NodeState).
//
// Field names follow MetalLB's metallb.io v1beta1/v1beta2 API wherever the
// meaning is the same, and then the meaning is exactly MetalLB's, so that
// `kubectl herald migrate` can convert objects field by field.
//
// Everything that can be checked inside one object is checked at admission
// by OpenAPI and CEL rules written as kubebuilder markers in this package;
// the CRDs in config/crd are generated from them by the pinned controller-gen
// (`make generate`). Problems that span objects (overlapping pools, an
// unknown BFDProfile, conflicting local preferences) are reported by the
// controller on status conditions instead.
//
// Choices an operator or a caller should know:
//   - IPAddressPool status counts are decimal strings (SetCounts fills them
//     from big.Int): an IPv6 /64 holds 2^64 addresses, beyond int64.
//   - A CIDR entry with host bits set (192.0.2.5/24) is refused rather than
//     silently widened, as ipam.ParseRange refuses it; spaces around the dash
//     of a range are allowed, around the entry not. Entries of one pool that
//     overlap each other, like pools that overlap, are reported by the
//     controller on the pool's conditions (CEL cannot order addresses
//     cheaply enough to compare every pair).
//   - BGPPeer.holdTime defaults to 90s in the object; keepaliveTime, unset,
//     is a third of it. 0s turns keepalives off (keepaliveTime then 0s too).
//   - BGPAdvertisement.localPref is accepted whatever the peers are; it only
//     takes effect on iBGP sessions (see BGPAdvertisementSpec).
//   - NodeState reports a BGP session's uptime as UpSince, a time, so the
//     status does not change every second.
//
// +kubebuilder:object:generate=true
// +groupName=heraldlb.io
package v1beta1
