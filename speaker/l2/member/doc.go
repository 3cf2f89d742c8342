// Package member tells each speaker which speakers are alive and ready to
// answer for Layer 2 IPs, fast enough for sub-second failover and quietly
// under CPU load.
//
// It wraps hashicorp/memberlist (SWIM with Lifeguard) with timers tuned for
// a LAN of a few to a few hundred nodes (see DefaultConfig), an encryption
// keyring, a rejoin loop towards the peers the caller lists (so that a node
// cut off and back, or a partition healed, merges again), and a readiness
// flag carried in the node metadata: a node whose announcing interface is
// down, that has just started or come back, or that is shutting down is
// alive but not ready, and the others stop counting it at once.
package member
