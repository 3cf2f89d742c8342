// Package charts holds the tests of herald's Helm chart (charts/herald); the
// chart itself is YAML and templates, with no Go code. The tests run the
// project's own helm (bin/helm, `make helm`) and kubectl (bin/kubectl, `make
// control-plane`): helm lint, helm template with several value sets, the
// chart's CRDs against config/crd, and the chart with default values against
// `kubectl kustomize config/default`, object by object.
package charts
