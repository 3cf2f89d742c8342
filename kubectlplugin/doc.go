// Package kubectlplugin is the logic of kubectl-herald, the kubectl plugin
// (`kubectl herald status|why|diff|migrate`).
//
// The pure parts are separate from the I/O: Migrate converts metallb.io
// objects (v1beta1, v1beta2) to heraldlb.io/v1beta1 YAML and lists what it
// could not carry over; FormatStatus, FormatWhy and FormatDiff print a
// Snapshot, a typed view of the cluster objects the commands read. Load
// (load.go) is the only part that talks to the API server: it lists the
// objects into a Snapshot with a controller-runtime client.
package kubectlplugin
