// Command node is herald's real-node end-to-end test (`make e2e-node`): it
// installs herald the way users do — the shipped images, `kubectl apply -k`
// on config/default with only the image names overlaid, then `helm install`
// of charts/herald — on a real Kubernetes node (kubelet, kube-proxy,
// kube-scheduler and kube-controller-manager built from k8s.io/kubernetes,
// containerd and runc from Debian), and checks it from a router running FRR.
//
// Everything runs in network namespaces this command makes (prefix hnode-):
//
//	hnode-node   the node: etcd, kube-apiserver, the controllers, containerd,
//	             kubelet and kube-proxy, started with `nsenter --net`, and the
//	             pods (a CNI bridge with a documentation-range pod CIDR)
//	hnode-rtr    the router: FRR (AS 64500) peering with the node over the LAN
//
// and a /30 link from the host's namespace to the node for the API server.
// Only documentation ranges are used, distinct from the lab's (see plan.go).
// Every check prints PASS or FAIL with its time; the command exits non-zero
// if one fails. Whatever it made is removed at the end, even on failure or
// interrupt; `-clean` removes what a killed run left.
package main
