// Package frrconfig is herald's typed model of the FRR configuration a node
// needs (BGP routers, neighbors, outbound policy, BFD profiles), the renderer
// that turns it into FRR 8.4's canonical frr.conf text, and the diff that
// turns one model into another with a few vtysh commands.
//
// The API: a Config (JSON-serialisable, sent by the speaker to the
// frr-agent) is checked by Validate, which lists every problem with its field
// path; Render prints it as frr.conf; Diff turns one Config into another as
// vtysh commands, or says ErrNeedsReload; Normalize puts a rendered file and
// `show running-config` in a form compared line by line.
//
// Render prints exactly what FRR 8.4 prints in `show running-config` for the
// same configuration (checked against real FRR by the tests): FRR's order
// of neighbors (unnumbered, IPv4, IPv6), of networks (table order), of
// neighbor options and BFD profile options; values equal to FRR's defaults
// left out, as FRR leaves them out (port 179, BFD 300 ms / 3 / 50 ms / TTL
// 254, `log stdout debugging`); communities sorted by value with FRR's names
// for the well-known ones. After Normalize, which drops FRR's own header
// lines and orders top-level objects by name (FRR prints route-maps,
// prefix-lists and BFD profiles in creation order), the running config of
// FRR booted from Render(c), or brought there by Diff, equals Render(c).
//
// Every string that reaches the file is either a parsed value printed back
// by Go (addresses, prefixes, numbers, communities) or checked against a
// strict pattern (names, passwords, remote-as, log level): no value can add
// a line or a word (FuzzRender).
//
// # Names and sequence numbers
//
// Each neighbor gets two route-maps, `<key>-in` (a single `deny 1` entry:
// herald never accepts routes) and `<key>-out`, where key is the neighbor's
// address or interface, followed by `@<vrf>` for a router in a VRF. The
// outbound route-map holds one `permit` entry per (address family, set of
// attributes) — the attributes being standard communities, large communities
// and local-pref — matching the prefix-list `<key>-out-<seq>`, and a final
// `deny 65535`.
//
// Sequence numbers are derived from what they number, not from their rank,
// so inserting one prefix changes one line and not every line after it:
//   - a prefix-list entry's home seq is, for IPv4, the address modulo 2^31
//     (so IPv4 lists print in address order), and for IPv6 a 31-bit FNV-1a
//     hash of address and length; FRR compares seqs as signed 32-bit numbers,
//     hence 31 bits;
//   - a route-map entry's home seq is a 16-bit FNV-1a hash of its family and
//     attributes, in 1–65534.
//
// When two members of one list share a home, the one that sorts first keeps
// it and the other takes the next free number after it. Homes are given out
// before any collision is resolved, so a collision moves only the colliding
// entry, never a run of its neighbours. Entries in a prefix-list are exact
// matches and route-map entries match disjoint prefix sets, so their order
// never changes what is announced.
package frrconfig
