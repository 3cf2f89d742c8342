// Package apitest starts a real kube-apiserver and etcd (controller-runtime's
// envtest, with the binaries `make control-plane` builds) with herald's CRDs
// from config/crd installed, for integration tests of the API and of the
// reconcilers. Outside CI a test skips when the control plane is missing;
// under CI=true it fails (see internal/testenv).
package apitest
