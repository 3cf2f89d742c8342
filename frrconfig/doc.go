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
// lines and orders top-level objects by name (FRR prints route-maps and BFD
// profiles in creation order), the running config of
// FRR booted from Render(c), or brought there by Diff, equals Render(c).
//
// Every string that reaches the file is either a parsed value printed back
// by Go (addresses, prefixes, numbers, communities) or checked against a
// strict pattern (names, passwords, remote-as, log level): no value can add
// a line or a word (FuzzRender).
//
// # Classes, tags and sequence numbers
//
// Each neighbor gets two route-maps, `<key>-in` (a single `deny 1` entry:
// herald never accepts routes) and `<key>-out`, where key is the neighbor's
// address or interface, followed by `@<vrf>` for a router in a VRF.
//
// Which neighbor receives a prefix, and with which attributes (standard
// communities, large communities, local-pref), is decided by the prefix's
// class: the prefixes of a router that the same neighbors receive with the
// same attributes form one class. A class has a tag, and a route-map
// `herald-class-<tag>` with a single `set tag <tag>` entry; each network
// line names the route-map of its class (`network P route-map
// herald-class-<tag>`), so bgpd tags the route when it originates it. The
// tag is a local attribute: BGP never sends it. Every neighbor's outbound
// route-map has one `permit` entry per class it receives, matching the tag
// (`match tag <tag>`) and setting that neighbor's attributes, and a final
// `deny 65535`. A prefix no neighbor receives has a plain network line.
//
// So the change that happens all the time, a Service's prefix added or
// removed, is one network line: FRR 8.4 edits prefix-lists and route-maps
// through its northbound layer at tens of milliseconds a line once they hold
// thousands of entries, while a network line costs bgpd well under a
// millisecond. A prefix whose attributes change moves to another class by
// one network line naming the other route-map; FRR updates the network in
// place and re-announces it at once.
//
// Numbers are derived from what they number, not from their rank, so one
// more class does not renumber the others: a class's tag is a 32-bit FNV-1a
// hash of its key (VRF, receiving neighbors, their attributes), in
// 1–4294967295; an outbound route-map entry's seq is a 16-bit FNV-1a hash of
// the class key, in 1–65534. When two members of one list share a home, the
// one that sorts first keeps it and the other takes the next free number
// after it. Homes are given out before any collision is resolved, so a
// collision moves only the colliding entry. Route-map entries match
// distinct tags, so their order never changes what is announced.
package frrconfig
