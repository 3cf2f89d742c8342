// Package frragent is `herald frr-agent`, the process that runs beside FRR
// (in the speaker pod's FRR container, or in a lab node's namespace) and is
// the only thing that talks to FRR for herald.
//
// It serves two calls over HTTP on a unix socket (mode 0600):
//
//   - POST /v1/apply takes an ApplyRequest — a whole frrconfig.Config or a
//     rendered frr.conf, with a generation number — and answers, once FRR runs
//     it or refused it, with a Result: which method applied it (incremental
//     commands from frrconfig.Diff, sent over a long-lived connection to
//     bgpd's vty socket as vtysh sends them (package vty), with the route-map
//     lines also sent to zebra; a full frr-reload.py --reload; or
//     none when FRR already ran it), how long it took, and the lines FRR
//     rejected. The file is checked by FRR itself (`vtysh -C -f`) before
//     anything changes; after applying, FRR's running config must equal the
//     rendered file (frrconfig.Normalize), else the agent falls back to a full
//     reload. A rejected config leaves the last good one running, and frr.conf
//     (0600) is written only once a config is applied.
//   - GET /v1/state answers with State: BGP sessions, BFD peers and the
//     prefixes advertised to each neighbor, parsed from vtysh's JSON.
//
// The agent also watches FRR (a cheap `show bgp vrf all summary json` on a
// ticker): when bgpd comes back without its routers after watchfrr restarted
// it, the agent re-applies its last good config.
//
// Package frragent/client is the client the speaker uses; frragent/vtysh
// holds the vtysh seam and the parsers.
package frragent
