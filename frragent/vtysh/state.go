package vtysh

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"time"
)

// BGPSession is one BGP neighbor of one VRF, as `show bgp vrf all summary
// json` reports it, merged over the address families it is active in.
type BGPSession struct {
	// VRF is the VRF's name ("default" for the default VRF).
	VRF string `json:"vrf"`
	// Peer is the neighbor's address or interface name.
	Peer string `json:"peer"`
	// RemoteAS and LocalAS are the session's ASNs.
	RemoteAS uint32 `json:"remoteAS"`
	LocalAS  uint32 `json:"localAS"`
	// State is the BGP FSM state: Idle, Connect, Active, OpenSent,
	// OpenConfirm or Established.
	State string `json:"state"`
	// Established is whether State is Established.
	Established bool `json:"established"`
	// Uptime is how long the session has been established (0 when it is not).
	Uptime time.Duration `json:"uptime"`
	// PrefixesSent and PrefixesReceived are summed over the families.
	PrefixesSent     int `json:"prefixesSent"`
	PrefixesReceived int `json:"prefixesReceived"`
	// Families are the per address family counts, sorted by family.
	Families []FamilyCounts `json:"families"`
}

// FamilyCounts are a session's prefix counts in one address family.
type FamilyCounts struct {
	// Family is FRR's key, such as "ipv4Unicast" or "ipv6Unicast".
	Family   string `json:"family"`
	Sent     int    `json:"sent"`
	Received int    `json:"received"`
}

type summaryPeer struct {
	RemoteAS       uint32 `json:"remoteAs"`
	LocalAS        uint32 `json:"localAs"`
	PeerUptimeMsec int64  `json:"peerUptimeMsec"`
	PfxRcd         int    `json:"pfxRcd"`
	PfxSnt         int    `json:"pfxSnt"`
	State          string `json:"state"`
}

type summaryFamily struct {
	Peers map[string]summaryPeer `json:"peers"`
}

// ParseBGPSummary parses `show bgp vrf all summary json`: an object keyed by
// VRF, each an object keyed by address family. Sessions are sorted by VRF
// then peer. An empty object (bgpd without a router) gives no sessions.
func ParseBGPSummary(data []byte) ([]BGPSession, error) {
	var vrfs map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &vrfs); err != nil {
		return nil, fmt.Errorf("parsing bgp summary json: %w", err)
	}
	byKey := map[[2]string]*BGPSession{}
	for vrf, families := range vrfs {
		for family, raw := range families {
			var f summaryFamily
			if err := json.Unmarshal(raw, &f); err != nil {
				// vrfs also hold scalar keys (such as "vrfId") in some
				// versions; a family is an object with "peers".
				continue
			}
			for peer, p := range f.Peers {
				key := [2]string{vrf, peer}
				s := byKey[key]
				if s == nil {
					s = &BGPSession{VRF: vrf, Peer: peer, RemoteAS: p.RemoteAS, LocalAS: p.LocalAS, State: p.State}
					byKey[key] = s
				}
				s.Established = s.State == "Established"
				if s.Established {
					s.Uptime = time.Duration(p.PeerUptimeMsec) * time.Millisecond
				}
				s.PrefixesSent += p.PfxSnt
				s.PrefixesReceived += p.PfxRcd
				s.Families = append(s.Families, FamilyCounts{Family: family, Sent: p.PfxSnt, Received: p.PfxRcd})
			}
		}
	}
	out := make([]BGPSession, 0, len(byKey))
	for _, s := range byKey {
		sort.Slice(s.Families, func(i, j int) bool { return s.Families[i].Family < s.Families[j].Family })
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].VRF != out[j].VRF {
			return out[i].VRF < out[j].VRF
		}
		return out[i].Peer < out[j].Peer
	})
	return out, nil
}

// BFDPeer is one BFD session, as `show bfd peers json` reports it. Intervals
// are in milliseconds.
type BFDPeer struct {
	// Peer and Local are the session's addresses.
	Peer  string `json:"peer"`
	Local string `json:"local,omitempty"`
	// VRF and Interface say where the session runs.
	VRF       string `json:"vrf,omitempty"`
	Interface string `json:"interface,omitempty"`
	Multihop  bool   `json:"multihop"`
	// Status is up, down, init or shutdown.
	Status string `json:"status"`
	Up     bool   `json:"up"`
	// Uptime is how long it has been up, Downtime how long down.
	Uptime   time.Duration `json:"uptime,omitempty"`
	Downtime time.Duration `json:"downtime,omitempty"`
	// Diagnostic is the local diagnostic, such as "ok" or "control detection time expired".
	Diagnostic string `json:"diagnostic,omitempty"`
	// Configured are this system's intervals (its profile).
	Configured BFDIntervals `json:"configured"`
	// Remote are the intervals the peer announces.
	Remote BFDIntervals `json:"remote"`
	// NegotiatedTransmit is the interval this system sends at: the larger of
	// its transmit interval and the peer's receive interval.
	NegotiatedTransmit uint32 `json:"negotiatedTransmit"`
	// DetectionTime is after how long without a packet this system declares
	// the session down: the peer's multiplier times the larger of this
	// system's receive interval and the peer's transmit interval.
	DetectionTime uint32 `json:"detectionTime"`
	// RTTMin, RTTAvg and RTTMax are measured round-trip times of echo
	// packets in microseconds (0 without echo).
	RTTMin uint32 `json:"rttMin,omitempty"`
	RTTAvg uint32 `json:"rttAvg,omitempty"`
	RTTMax uint32 `json:"rttMax,omitempty"`
}

// BFDIntervals are one side's BFD timers in milliseconds.
type BFDIntervals struct {
	Receive          uint32 `json:"receive"`
	Transmit         uint32 `json:"transmit"`
	EchoReceive      uint32 `json:"echoReceive,omitempty"`
	EchoTransmit     uint32 `json:"echoTransmit,omitempty"`
	DetectMultiplier uint32 `json:"detectMultiplier"`
}

type bfdPeerJSON struct {
	Multihop                  bool   `json:"multihop"`
	Peer                      string `json:"peer"`
	Local                     string `json:"local"`
	VRF                       string `json:"vrf"`
	Interface                 string `json:"interface"`
	Status                    string `json:"status"`
	Uptime                    int64  `json:"uptime"`
	Downtime                  int64  `json:"downtime"`
	Diagnostic                string `json:"diagnostic"`
	ReceiveInterval           uint32 `json:"receive-interval"`
	TransmitInterval          uint32 `json:"transmit-interval"`
	EchoReceiveInterval       uint32 `json:"echo-receive-interval"`
	EchoTransmitInterval      uint32 `json:"echo-transmit-interval"`
	DetectMultiplier          uint32 `json:"detect-multiplier"`
	RemoteReceiveInterval     uint32 `json:"remote-receive-interval"`
	RemoteTransmitInterval    uint32 `json:"remote-transmit-interval"`
	RemoteEchoReceiveInterval uint32 `json:"remote-echo-receive-interval"`
	RemoteDetectMultiplier    uint32 `json:"remote-detect-multiplier"`
	RTTMin                    uint32 `json:"rtt-min"`
	RTTAvg                    uint32 `json:"rtt-avg"`
	RTTMax                    uint32 `json:"rtt-max"`
}

// ParseBFDPeers parses `show bfd peers json`, sorted by VRF, peer and local
// address.
func ParseBFDPeers(data []byte) ([]BFDPeer, error) {
	var raw []bfdPeerJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parsing bfd peers json: %w", err)
	}
	out := make([]BFDPeer, 0, len(raw))
	for _, p := range raw {
		b := BFDPeer{
			Peer: p.Peer, Local: p.Local, VRF: p.VRF, Interface: p.Interface, Multihop: p.Multihop,
			Status: p.Status, Up: p.Status == "up",
			Uptime:     time.Duration(p.Uptime) * time.Second,
			Downtime:   time.Duration(p.Downtime) * time.Second,
			Diagnostic: p.Diagnostic,
			Configured: BFDIntervals{Receive: p.ReceiveInterval, Transmit: p.TransmitInterval,
				EchoReceive: p.EchoReceiveInterval, EchoTransmit: p.EchoTransmitInterval, DetectMultiplier: p.DetectMultiplier},
			Remote: BFDIntervals{Receive: p.RemoteReceiveInterval, Transmit: p.RemoteTransmitInterval,
				EchoReceive: p.RemoteEchoReceiveInterval, DetectMultiplier: p.RemoteDetectMultiplier},
			RTTMin: p.RTTMin, RTTAvg: p.RTTAvg, RTTMax: p.RTTMax,
		}
		b.NegotiatedTransmit = max(p.TransmitInterval, p.RemoteReceiveInterval)
		b.DetectionTime = p.RemoteDetectMultiplier * max(p.ReceiveInterval, p.RemoteTransmitInterval)
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.VRF != b.VRF {
			return a.VRF < b.VRF
		}
		if a.Peer != b.Peer {
			return a.Peer < b.Peer
		}
		return a.Local < b.Local
	})
	return out, nil
}

// AdvertisedRoute is one prefix sent to a neighbor, as `show bgp <afi>
// unicast neighbors X advertised-routes json` reports it.
type AdvertisedRoute struct {
	Prefix  netip.Prefix `json:"prefix"`
	NextHop string       `json:"nextHop,omitempty"`
	// LocalPref is set when the outbound policy sets it.
	LocalPref *uint32 `json:"localPref,omitempty"`
	Metric    uint32  `json:"metric"`
}

type advertisedJSON struct {
	AdvertisedRoutes map[string]struct {
		NextHop       string  `json:"nextHop"`
		NextHopGlobal string  `json:"nextHopGlobal"` // IPv6
		Metric        uint32  `json:"metric"`
		LocPrf        *uint32 `json:"locPrf"`
	} `json:"advertisedRoutes"`
}

// ParseAdvertisedRoutes parses `show bgp <afi> unicast neighbors X
// advertised-routes json`, sorted by prefix.
func ParseAdvertisedRoutes(data []byte) ([]AdvertisedRoute, error) {
	var raw advertisedJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parsing advertised routes json: %w", err)
	}
	out := make([]AdvertisedRoute, 0, len(raw.AdvertisedRoutes))
	for key, r := range raw.AdvertisedRoutes {
		p, err := netip.ParsePrefix(key)
		if err != nil {
			return nil, fmt.Errorf("parsing advertised routes json: prefix %q: %w", key, err)
		}
		nh := r.NextHop
		if nh == "" {
			nh = r.NextHopGlobal
		}
		out = append(out, AdvertisedRoute{Prefix: p, NextHop: nh, LocalPref: r.LocPrf, Metric: r.Metric})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Prefix, out[j].Prefix
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c < 0
		}
		return a.Bits() < b.Bits()
	})
	return out, nil
}
