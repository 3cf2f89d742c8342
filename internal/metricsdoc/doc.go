// Package metricsdoc holds the test that keeps docs/metrics.md, the table
// of every herald metric, equal to what the controller, the speaker and the
// frr-agent register: a metric without a row, or a row without a metric,
// or a type or label set that differs, fails it. It has no code of its own.
package metricsdoc
