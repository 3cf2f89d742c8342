// Package speaker is herald's per-node process: it watches the cluster
// (Services, EndpointSlices, Nodes, herald's objects and the Secrets in
// herald's namespace) through a controller-runtime cache, rebuilds a
// planner.Snapshot whenever something changes (changes arriving together are
// coalesced for a few tens of milliseconds, never seconds), asks the pure
// planner what this node announces, hands the FRR model to the frr-agent
// when it differs from the one applied, hands the Layer 2 IPs to speaker/l2,
// and writes the node's NodeState (last apply, sessions, BFD peers,
// announced prefixes, L2 announcements) when it changes.
//
// On shutdown it withdraws: it applies the same model with no prefixes, so
// the routers drop this node's next hops at once rather than after the hold
// time, and lets the Layer 2 node give its IPs up.
//
// The agent is behind the Agent interface (frragent's client in production,
// a fake in tests); the L2 side behind L2.
package speaker
