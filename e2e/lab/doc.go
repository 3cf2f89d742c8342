// Package lab builds herald's lab (DESIGN.md §7): a Kubernetes control plane
// (a real etcd and kube-apiserver), three node network namespaces running FRR,
// `herald frr-agent` and `herald speaker`, a router namespace running FRR with
// ECMP, a client namespace, and `herald controller` in the root namespace — a
// whole bare-metal cluster on one machine, with no containers.
//
// The layout, every name and every address come from the pure Plan (plan.go);
// the rest of the package turns it into namespaces, links, processes and API
// objects, and takes them away again:
//
//	management  203.0.113.0/24    root bridge hlab-mgmt .1 (etcd, kube-apiserver),
//	                              nodes .11–.13 on a veth "mgmt" each
//	LAN         198.51.100.0/24   bridge br0 in namespace hlab-lan; router .1,
//	            2001:db8:100::/64 nodes .11–.13, client .100 (and ::1, ::11–::13, ::100)
//	VIP pools   192.0.2.0/24, 2001:db8:200::/64 (accepted locally by every node)
//
// Every namespace, root link and FRR pathspace starts with the prefix
// "hlab-", and every process the lab starts either runs in one of its
// namespaces, belongs to one of its FRR pathspaces or names the lab folder on
// its command line, so Destroy finds them all even when the state file is
// gone. One lab runs per machine: Up holds an flock on LockPath until Down or
// Close.
//
// Up is idempotent: on a lab that is already up it keeps every healthy part
// and restarts only what died.
package lab
