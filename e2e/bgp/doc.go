// Package bgp holds herald's end-to-end tests of BGP mode on the lab
// (e2e/lab, DESIGN.md §7): the nodes' sessions to the router, ECMP routes
// for Cluster Services, Local Services following their pod, communities,
// large communities and local-pref at the router, BFD, BGPPeer node
// selectors, withdrawal, link cuts, NodeState and the Announced condition,
// and TCP-MD5 passwords from Secrets that never reach a log, event or status.
//
// Every check reads the router's real FRR (vtysh JSON) or the API server;
// nothing is faked. One lab serves the whole package: TestBGP brings it up
// once and runs each case as a subtest on it, resetting herald's objects
// in between. The tests need root, FRR and the test control plane, and a
// built bin/herald (`make build`; $HERALD_BIN overrides it).
package bgp
