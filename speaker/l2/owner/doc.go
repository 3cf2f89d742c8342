// Package owner decides which node answers for a Layer 2 IP.
//
// It is pure: every speaker calls it with the same inputs (the IPs, the nodes
// eligible for each, the nodes alive) and gets the same answer, with no
// coordination. The choice is rendezvous (highest random weight) hashing of
// (IP, node): IPs spread evenly over nodes, and an IP moves only when its
// owner leaves or a node with a higher weight for it comes back.
package owner
