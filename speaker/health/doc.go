// Package health runs the health checks that gate a node's announcements of
// a Service (issue 16, item 3).
//
// A Service asks for a check with annotations:
//
//	heraldlb.io/health-check:          tcp:PORT | http:PORT[/PATH]
//	heraldlb.io/health-check-interval: a Go duration, 100ms to 1m (default 2s)
//	heraldlb.io/health-check-rise:     successes in a row that make a gated node announce again, 1-10 (default 2)
//	heraldlb.io/health-check-fall:     failures in a row that gate the node, 1-10 (default 3)
//
// PORT is the port the endpoints listen on (the targetPort, a number). An
// http check passes on a 2xx or 3xx answer to GET PATH (default /).
//
// Each speaker probes, from its node's network namespace, the Service's
// endpoints on its own node (EndpointSlice endpoints whose nodeName is the
// node and that are not known unready), whatever the traffic policy: the
// check asks whether this node can serve. A round passes when any local
// endpoint passes. A node with no local endpoint runs no check and is not
// gated. Parse, State and Targets are pure; Runner is the thin part that
// dials.
//
// A malformed annotation is never a reason to withdraw: Parse's error names
// the annotation and the fix, the controller reports it on the Service (a
// Warning event and the Announced condition's message) and the speakers
// announce the Service as if it had no check.
package health
