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
// +kubebuilder:object:generate=true
// +groupName=heraldlb.io
package v1beta1
