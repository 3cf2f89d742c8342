// Package observability is the end-to-end test of herald's monitoring on
// the lab: a real Prometheus (Debian's package, its own data folder and
// port on 127.0.0.1) scrapes every herald component of the lab — the
// controller, each speaker and each frr-agent — with config/prometheus's
// alert rules loaded. The test checks that every panel query of
// config/grafana/herald.json returns data, that bgpd killed on a node
// fires HeraldBGPSessionDown within its `for:` plus the time to see it and
// resolves once bgpd is back, and that a pool used up fires
// HeraldPoolExhausted; it prints each alert with the time it took to fire.
package observability
