// Package member tells each speaker which speakers are alive and ready to
// answer for Layer 2 IPs, fast enough for sub-second failover and quietly
// under CPU load.
//
// It wraps hashicorp/memberlist (SWIM with Lifeguard) with timers tuned for
// a LAN of a few to a few hundred nodes (see DefaultConfig), an encryption
// keyring that can change while it runs (SetKeys), a rejoin loop towards the
// peers the caller lists (so that a node cut off and back, or a partition
// healed, merges again), and a readiness flag carried in the node metadata:
// a node whose announcing interface is down, that has just started or come
// back, or that is shutting down is alive but not ready, and the others stop
// counting it at once.
//
// Two rules keep two nodes from answering for one IP while views of the
// cluster differ for a moment. A node declared dead still counts until it
// has been silent to this node for Silence (it is pinged meanwhile), so a
// dead message on another node's stale word — a node back from a partition
// — moves nothing while the accused node still answers. A node that becomes
// ready counts itself only once every other live node has acked one of its
// probes saying it counts it (acks carry the live set last applied), so the
// node answering in its place has stopped first.
package member
