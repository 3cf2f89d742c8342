// Package l2lab builds the small network-namespace topologies the Layer 2
// tests and the l2failover benchmark run on — a switch namespace holding a
// bridge, node namespaces each running a Layer 2 node in its own process,
// and a client namespace that probes with arping and ndisc6 — and removes
// them again. It uses only documentation addresses: the LAN 198.51.100.0/24
// and 2001:db8:100::/64, Service IPs from 192.0.2.0/24 and
// 2001:db8:200::/64.
//
// Node processes are the calling binary itself, re-run inside the node's
// namespace with NodeEnv set; the binary calls MaybeRunNode first thing
// (in TestMain, or main) to become the node.
package l2lab
