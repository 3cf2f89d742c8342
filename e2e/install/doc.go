// Package install tests herald's install manifests without a node: that
// config/default renders (with the kubectl the tests build) to exactly the
// objects an operator expects, with versioned images, and that the
// controller and the speaker — the real binaries with the shipped flags —
// do their work against a real API server under their own ServiceAccounts
// bound by the shipped roles, with no request forbidden and no verb granted
// that they never use.
package install
