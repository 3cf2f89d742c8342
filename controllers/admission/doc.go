// Package admission is herald's validating admission webhook, served by
// every replica of the controller.
//
// On the creation, edit or deletion of an IPAddressPool, BGPPeer,
// BGPAdvertisement, L2Advertisement, Community or BFDProfile it computes,
// with package impact (the controller's allocator, the speakers' planner
// and renderer), what the change would do, and answers with admission
// warnings naming the prefixes that would be withdrawn and the Services
// affected. It denies a pool edit that would strand allocated IPs (Services
// holding addresses the pool no longer contains) unless the object carries
// the annotation heraldlb.io/force: "true", and pools overlapping another
// pool, which CEL rules inside one object cannot see. References to objects
// that do not exist are warnings, not denials, so that kubectl apply of a
// directory works in any order.
//
// Its serving certificate is herald's own (no cert-manager): a self-signed
// CA and a serving certificate kept in a Secret, renewed when a third of
// their lifetime remains, and the CA bundle patched into the
// ValidatingWebhookConfiguration. The configuration's failurePolicy is
// Ignore: when no controller answers, the API server admits the change
// unchecked (fails open).
package admission
