package frrconfig

import "net/netip"

// Config is everything herald configures in one FRR instance. It is sent
// as JSON from the speaker to the frr-agent; Render turns it into frr.conf.
type Config struct {
	// LogLevel is the level of `log stdout`: one of emergencies, alerts,
	// critical, errors, warnings, notifications, informational, debugging.
	// Empty means informational.
	LogLevel string `json:"logLevel,omitempty"`
	// RouteMapDelaySeconds is how long bgpd waits after a change of
	// route-maps or prefix-lists before it re-evaluates the routes it
	// already announces, so how long a changed community or local-pref of
	// an announced prefix takes to reach the peers (new and withdrawn
	// prefixes go at once): 1–600 seconds; 0 keeps FRR's default, 5.
	RouteMapDelaySeconds uint16 `json:"routeMapDelaySeconds,omitempty"`
	// Routers holds one BGP router per (ASN, VRF); at most one per VRF.
	Routers []Router `json:"routers,omitempty"`
	// BFDProfiles are the named BFD profiles neighbors refer to.
	BFDProfiles []BFDProfile `json:"bfdProfiles,omitempty"`
}

// Router is one `router bgp <ASN> [vrf <VRF>]`.
type Router struct {
	// ASN is the local autonomous system number (1–4294967295).
	ASN uint32 `json:"asn"`
	// VRF is the Linux VRF the router runs in; empty for the default VRF.
	VRF string `json:"vrf,omitempty"`
	// RouterID is the BGP router-id, an IPv4 address; zero lets FRR choose.
	RouterID netip.Addr `json:"routerID,omitzero"`
	// IPv4Networks are the IPv4 prefixes this router originates
	// (`network` in `address-family ipv4 unicast`). Which neighbor receives
	// which of them is decided by Neighbor.Advertise.
	IPv4Networks Prefixes `json:"ipv4Networks,omitempty"`
	// IPv6Networks are the IPv6 prefixes this router originates.
	IPv6Networks Prefixes `json:"ipv6Networks,omitempty"`
	// Neighbors are the BGP peers of this router.
	Neighbors []Neighbor `json:"neighbors,omitempty"`
	// GracefulShutdown puts the router in graceful shutdown (RFC 8326,
	// FRR's `bgp graceful-shutdown`): bgpd sends every route again with
	// the GRACEFUL_SHUTDOWN community 65535:0 to eBGP peers and with
	// LOCAL_PREF 0 to iBGP peers, at once (no route-map delay), so that
	// routers move their traffic to other paths before the routes are
	// withdrawn. A node draining sets it, then withdraws.
	GracefulShutdown bool `json:"gracefulShutdown,omitempty"`
}

// Neighbor is one BGP peer. Exactly one of Address and Interface is set.
//
// A neighbor is activated in its Families. Its inbound policy is always
// deny-all: herald announces, it never learns routes.
type Neighbor struct {
	// Address is the peer's address.
	Address netip.Addr `json:"address,omitzero"`
	// Interface makes the neighbor unnumbered (BGP over the IPv6 link-local
	// address of this interface, RFC 5549).
	Interface string `json:"interface,omitempty"`
	// RemoteAS is the peer's ASN in decimal, or "internal" or "external".
	RemoteAS string `json:"remoteAS"`
	// Port is the peer's TCP port; 0 (or 179) is BGP's default.
	Port uint16 `json:"port,omitempty"`
	// Timers sets keepalive and hold time; nil keeps FRR's defaults.
	Timers *Timers `json:"timers,omitempty"`
	// ConnectTime is the connect-retry timer in seconds; 0 keeps FRR's default.
	ConnectTime uint16 `json:"connectTime,omitempty"`
	// Password is the TCP MD5 password: printable ASCII without spaces,
	// at most 80 characters. Never log it.
	Password string `json:"password,omitempty"`
	// UpdateSource is the local address or interface name the session is
	// sourced from; empty lets the kernel choose. Not for unnumbered peers.
	UpdateSource string `json:"updateSource,omitempty"`
	// EBGPMultihop is the maximum hop count to an eBGP peer that is not
	// directly connected (2–255); 0 means directly connected.
	EBGPMultihop uint8 `json:"ebgpMultihop,omitempty"`
	// BFD enables BFD for the session.
	BFD bool `json:"bfd,omitempty"`
	// BFDProfile names one of Config.BFDProfiles; requires BFD.
	BFDProfile string `json:"bfdProfile,omitempty"`
	// GracefulRestart enables graceful restart (helper and restarting) for
	// this neighbor.
	GracefulRestart bool `json:"gracefulRestart,omitempty"`
	// Families are the address families the session carries, FamilyIPv4
	// and/or FamilyIPv6: the neighbor is activated in exactly these, and
	// Advertise holds prefixes of no other. FRR resets a session whose
	// families change (they are negotiated when it opens), so set them
	// from the peer and from the pools it may be sent, never from what is
	// announced at the moment. Empty keeps the rule of older callers: the
	// family of Address (both when unnumbered) plus every family Advertise
	// holds a prefix of — under which the first prefix of a family, or the
	// removal of the last, resets the session.
	Families []string `json:"families,omitempty"`
	// Advertise lists the prefixes this neighbor may receive, each with its
	// attributes; every prefix must be one of the router's networks, at most
	// once per neighbor. Anything else is filtered out.
	Advertise Advertisements `json:"advertise,omitempty"`
}

// The address families of Neighbor.Families.
const (
	// FamilyIPv4 is IPv4 unicast.
	FamilyIPv4 = "ipv4"
	// FamilyIPv6 is IPv6 unicast.
	FamilyIPv6 = "ipv6"
)

// Timers are a neighbor's BGP keepalive and hold times in seconds.
type Timers struct {
	// Keepalive is the keepalive interval (0–65535).
	Keepalive uint16 `json:"keepalive"`
	// Hold is the hold time: 0 (no keepalives) or 3–65535.
	Hold uint16 `json:"hold"`
}

// Advertisement is one prefix a neighbor may receive and the attributes it
// is sent with.
type Advertisement struct {
	// Prefix is one of the router's networks.
	Prefix netip.Prefix `json:"prefix"`
	// Communities are standard communities: "ASN:VALUE" with both parts in
	// 0–65535 (not 0:0, not 65535:x), or a well-known name: no-export,
	// no-advertise, local-AS, no-peer, blackhole, graceful-shutdown.
	Communities []string `json:"communities,omitempty"`
	// LargeCommunities are RFC 8092 communities "GLOBAL:LOCAL1:LOCAL2",
	// each part in 0–4294967295.
	LargeCommunities []string `json:"largeCommunities,omitempty"`
	// LocalPref sets LOCAL_PREF (sent to iBGP peers only); nil leaves it unset.
	LocalPref *uint32 `json:"localPref,omitempty"`
}

// BFDProfile is one `bfd` / `profile <Name>`. Zero values keep FRR's
// defaults (300 ms intervals, multiplier 3, echo interval 50 ms, minimum
// TTL 254).
type BFDProfile struct {
	// Name is the profile's name: letters, digits, '.', '_' and '-', at most
	// 64 characters.
	Name string `json:"name"`
	// ReceiveInterval is the minimum interval, in ms, at which this system
	// can receive control packets (10–60000).
	ReceiveInterval uint32 `json:"receiveInterval,omitempty"`
	// TransmitInterval is the minimum interval, in ms, at which this system
	// wants to send control packets (10–60000).
	TransmitInterval uint32 `json:"transmitInterval,omitempty"`
	// DetectMultiplier is the number of packets lost before the session is
	// declared down (2–255).
	DetectMultiplier uint8 `json:"detectMultiplier,omitempty"`
	// EchoMode enables echo packets.
	EchoMode bool `json:"echoMode,omitempty"`
	// EchoInterval is the echo transmit and receive interval in ms (10–60000).
	EchoInterval uint32 `json:"echoInterval,omitempty"`
	// PassiveMode makes this side wait for the peer to start the session.
	PassiveMode bool `json:"passiveMode,omitempty"`
	// MinimumTTL is the minimum incoming TTL for multihop sessions (1–254).
	MinimumTTL uint8 `json:"minimumTtl,omitempty"`
}
