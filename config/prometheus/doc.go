// Package promrules holds herald's Prometheus alert rules (alerts.yaml) and
// their unit tests (alerts_test.yaml, for promtool). Its Go tests run
// `promtool check rules` and `promtool test rules` and check that every
// alert has a summary, a description, a runbook in docs/alerts.md, and a
// unit test where it fires and one where it resolves. It has no code.
package promrules
