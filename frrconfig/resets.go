package frrconfig

import (
	"fmt"
	"strings"
)

// SessionReset is a BGP session that FRR tears down and opens again when
// it goes from one config to the next: the peer sees a NOTIFICATION
// (Cease, "other configuration change") and withdraws every route of the
// session until it is up again.
type SessionReset struct {
	// VRF is the neighbor's VRF; empty for the default VRF.
	VRF string `json:"vrf,omitempty"`
	// Neighbor is the neighbor's address, or interface when unnumbered.
	Neighbor string `json:"neighbor"`
	// Reason says which setting changed.
	Reason string `json:"reason"`
}

// String is the reset as one line, for logs and events.
func (r SessionReset) String() string {
	if r.VRF != "" {
		return fmt.Sprintf("%s (VRF %s): %s", r.Neighbor, r.VRF, r.Reason)
	}
	return r.Neighbor + ": " + r.Reason
}

// SessionResets returns the sessions that FRR resets when it goes from
// running old to running new, whichever way the change is applied, in
// FRR's order of routers and neighbors. Sessions of neighbors that are
// added or removed are not listed: they open or close, they do not reset.
//
// FRR resets a session when its router's ASN or router-id changes, or when
// the neighbor's remote AS, password, port, update-source, eBGP multihop,
// graceful restart or address families change. Prefixes, communities,
// local-pref, BFD, timers and the connect timer change without a reset.
func SessionResets(old, new *Plan) []SessionReset {
	oldRouters := map[string]*routerPlan{}
	for _, r := range old.p.Routers {
		oldRouters[r.VRF] = r
	}
	var out []SessionReset
	for _, nr := range new.p.Routers {
		or := oldRouters[nr.VRF]
		if or == nil {
			continue
		}
		routerWhy := ""
		switch {
		case or.ASN != nr.ASN:
			routerWhy = fmt.Sprintf("the router's ASN changed from %d to %d", or.ASN, nr.ASN)
		case or.RouterID != nr.RouterID:
			routerWhy = fmt.Sprintf("the router-id changed from %s to %s", orNone(or.RouterID), orNone(nr.RouterID))
		}
		oldNbrs := map[string]*neighborPlan{}
		for _, n := range or.Neighbors {
			oldNbrs[n.Name] = n
		}
		for _, nn := range nr.Neighbors {
			on := oldNbrs[nn.Name]
			if on == nil {
				continue
			}
			why := routerWhy
			if why == "" {
				why = sessionChange(on, nn)
			}
			if why != "" {
				out = append(out, SessionReset{VRF: nr.VRF, Neighbor: nn.Name, Reason: why})
			}
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// sessionChange names the settings of a neighbor whose change resets its
// session, or returns "".
func sessionChange(a, b *neighborPlan) string {
	var what []string
	if a.Interface != b.Interface || a.RemoteAS != b.RemoteAS {
		what = append(what, fmt.Sprintf("remote AS %s → %s", a.RemoteAS, b.RemoteAS))
	}
	if a.Password != b.Password {
		what = append(what, "password") // never its value
	}
	if a.Port != b.Port {
		what = append(what, fmt.Sprintf("port %d → %d", orDefault(a.Port, defaultPort), orDefault(b.Port, defaultPort)))
	}
	if a.UpdateSource != b.UpdateSource {
		what = append(what, fmt.Sprintf("update-source %s → %s", orNone(a.UpdateSource), orNone(b.UpdateSource)))
	}
	if a.EBGPMultihop != b.EBGPMultihop {
		what = append(what, fmt.Sprintf("ebgp-multihop %d → %d", a.EBGPMultihop, b.EBGPMultihop))
	}
	if a.GracefulRestart != b.GracefulRestart {
		what = append(what, fmt.Sprintf("graceful-restart %t → %t", a.GracefulRestart, b.GracefulRestart))
	}
	if a.Families != b.Families {
		what = append(what, fmt.Sprintf("address families %s → %s", familyList(a.Families), familyList(b.Families)))
	}
	if len(what) == 0 {
		return ""
	}
	return strings.Join(what, ", ") + " changed"
}

func familyList(fs [2]bool) string {
	var names []string
	for f := range 2 {
		if fs[f] {
			names = append(names, family(f).short())
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}
