// Package client is the Go client of `herald frr-agent`, used by the
// speaker: it sends configs to the agent's unix socket and reads FRR's
// state back.
package client
