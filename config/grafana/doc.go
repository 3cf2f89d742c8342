// Package grafanadash holds herald's Grafana dashboard (herald.json; the
// Helm chart ships the same file in a ConfigMap). Its Go tests lint it with
// grafana's dashboard-linter (built by hack/build-dashboard-linter.sh at a
// pinned version) and check that every query reads metrics docs/metrics.md
// lists. It has no code.
package grafanadash
