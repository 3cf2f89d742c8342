// Package l2 holds herald's end-to-end tests of Layer 2 mode on the lab
// (e2e/lab, DESIGN.md §5, §7), and the few helpers they share with the
// e2e/bench/l2lab benchmark: a packet capture in a lab namespace parsed into
// the ARP and Neighbor Advertisement answers it saw (capture.go), an ARP
// prober sending from the client namespace (probe.go), and the nodes' LAN
// MACs and speaker processes (node.go).
//
// The tests (TestL2) bring one lab up for the whole package and run each
// case as a subtest on it, resetting herald's objects in between: from the
// client, arping to an IPv4 Service IP and ndisc6 to an IPv6 one are
// answered by exactly one node, the one its NodeState and the Service's
// heraldlb.io/Announced condition name; 30 Services spread over the three
// nodes; Local Services are answered only where their pod runs; cutting the
// owner's LAN link moves the IP to a new MAC, and a restarted old owner
// stays silent for what it lost. Every case also checks, from a tcpdump
// capture on the client's interface, that no IP was ever answered by two
// nodes at once, the old owner's return after a link cut included. Nothing
// is faked: the speakers are `herald speaker`
// processes in the lab's node namespaces. They need root, FRR, the test
// control plane and a built bin/herald (`make build`; $HERALD_BIN
// overrides it).
package l2
