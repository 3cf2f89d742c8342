// Package labtest holds the end-to-end tests of the lab itself (e2e/lab):
// namespaces and addresses, the control plane, the router's and nodes'
// FRR, pods and their EndpointSlices, link cuts, idempotent Up, and a clean
// Down also after a crash. They need root, FRR and the test control plane.
package labtest
