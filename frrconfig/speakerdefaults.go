package frrconfig

// SpeakerRouteMapDelaySeconds is the `bgp route-map delay-timer` the
// speaker puts in the configs it applies by default (its
// --route-map-delay), so that `kubectl herald diff` expects the same:
// 1 s rather than FRR's 5 s. bgpd holds its peers after loading a
// config (a bgpd restarted by watchfrr, then given its config) until that
// timer fires, which kept a restarted bgpd's routes away 4–5 s longer.
const SpeakerRouteMapDelaySeconds = 1
