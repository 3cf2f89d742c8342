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
// FRR applies run in a goroutine of their own, latest wins: planning, Layer
// 2 and NodeState writes never wait for an apply; a model planned while an
// apply is in flight replaces any model still waiting, so the next apply is
// always the newest and at most one is in flight. FRR's state (sessions, BFD
// peers, advertised prefixes) is read in another goroutine, on a ticker and
// shortly after each apply, so that a slow read never delays an
// announcement. A failed apply (agent unreachable) is retried with a backoff
// from 1s to 10s unless a newer model supersedes it; a config FRR rejected
// is not retried until the model changes; passwords are redacted from whatever the
// agent says before it reaches a log or the NodeState.
//
// Metrics (registered by NewMetrics on an injected registry; docs/metrics.md
// is the table of every herald metric): herald_speaker_applies_total{result},
// herald_speaker_last_apply{result}, herald_speaker_config_generation,
// herald_bgp_session_up{peer,vrf,bgppeer}, herald_bgp_prefixes_advertised,
// herald_bfd_session_up, herald_announced_addresses{mode},
// herald_bgp_prefix_changes_total{change}, herald_config_problems and
// herald_speaker_agent_errors_total{call}.
//
// The agent is behind the Agent interface (frragent's client in production,
// a fake in tests); the L2 side behind L2.
package speaker
