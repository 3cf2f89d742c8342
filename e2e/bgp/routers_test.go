package bgp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldlb/herald/e2e/lab"
)

// What the e2e tests read of the lab's BIRD and GoBGP: the paths they hold
// to a prefix, with communities, and BIRD's kernel routes. Resets and BFD
// downs are counted by lab.Counts.

// routerPath is one path a router holds to a prefix: the node it came
// from and the communities it carries, in the router's own notation.
type routerPath struct {
	From             string
	Communities      []string
	LargeCommunities []string
	// LocalPref is the path's LOCAL_PREF as the router holds it (after
	// its import policy); nil when it has none.
	LocalPref *uint32
}

// gobgpPaths returns GoBGP's paths to prefix.
func (e *env) gobgpPaths(ctx context.Context, prefix netip.Prefix) ([]routerPath, error) {
	fam := "ipv4"
	if prefix.Addr().Is6() {
		fam = "ipv6"
	}
	out, err := e.lab.GoBGP(ctx, "global", "rib", "-a", fam, prefix.String(), "-j")
	if err != nil {
		return nil, err
	}
	var rib map[string][]struct {
		From  string `json:"neighbor-ip"`
		Attrs []struct {
			Type        int      `json:"type"`
			Communities []uint32 `json:"communities"`
			Value       json.RawMessage
		} `json:"attrs"`
	}
	if err := json.Unmarshal([]byte(out), &rib); err != nil {
		return nil, fmt.Errorf("decoding gobgp global rib %q: %w", out, err)
	}
	var paths []routerPath
	for _, p := range rib[prefix.String()] {
		rp := routerPath{From: p.From}
		for _, a := range p.Attrs {
			switch a.Type {
			case 5: // LOCAL_PREF
				var v uint32
				if err := json.Unmarshal(a.Value, &v); err != nil {
					return nil, fmt.Errorf("decoding local-pref %s: %w", a.Value, err)
				}
				rp.LocalPref = &v
			case 8: // COMMUNITIES
				for _, c := range a.Communities {
					rp.Communities = append(rp.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
				}
			case 32: // LARGE_COMMUNITY
				var large []struct{ ASN, LocalData1, LocalData2 uint32 }
				if err := json.Unmarshal(a.Value, &large); err != nil {
					return nil, fmt.Errorf("decoding large communities %s: %w", a.Value, err)
				}
				for _, l := range large {
					rp.LargeCommunities = append(rp.LargeCommunities, fmt.Sprintf("%d:%d:%d", l.ASN, l.LocalData1, l.LocalData2))
				}
			}
		}
		paths = append(paths, rp)
	}
	return paths, nil
}

var (
	birdPath      = regexp.MustCompile(`unicast \[(node[0-9]+)_v[46] `)
	birdCommunity = regexp.MustCompile(`BGP\.community: (.*)`)
	birdLarge     = regexp.MustCompile(`BGP\.large_community: (.*)`)
	birdLocalPref = regexp.MustCompile(`BGP\.local_pref: (\d+)`)
	birdPair      = regexp.MustCompile(`\((\d+), ?(\d+)(?:, ?(\d+))?\)`)
)

// birdPaths returns BIRD's paths to prefix.
func (e *env) birdPaths(ctx context.Context, prefix netip.Prefix) ([]routerPath, error) {
	out, err := e.lab.BirdC(ctx, "show", "route", prefix.String(), "all")
	if err != nil {
		if strings.Contains(out, "Network not found") {
			return nil, nil
		}
		return nil, err
	}
	var paths []routerPath
	for _, l := range strings.Split(out, "\n") {
		if m := birdPath.FindStringSubmatch(l); m != nil {
			paths = append(paths, routerPath{From: m[1]})
			continue
		}
		if len(paths) == 0 {
			continue
		}
		p := &paths[len(paths)-1]
		if m := birdCommunity.FindStringSubmatch(l); m != nil {
			for _, c := range birdPair.FindAllStringSubmatch(m[1], -1) {
				p.Communities = append(p.Communities, c[1]+":"+c[2])
			}
		}
		if m := birdLocalPref.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseUint(m[1], 10, 32)
			lp := uint32(v)
			p.LocalPref = &lp
		}
		if m := birdLarge.FindStringSubmatch(l); m != nil {
			for _, c := range birdPair.FindAllStringSubmatch(m[1], -1) {
				p.LargeCommunities = append(p.LargeCommunities, c[1]+":"+c[2]+":"+c[3])
			}
		}
	}
	return paths, nil
}

// kernelHops returns the next hops of the route to prefix that BIRD put in
// its namespace's kernel table (its ECMP set), sorted.
func (e *env) kernelHops(ctx context.Context, prefix netip.Prefix) ([]string, error) {
	args := []string{"-4"}
	if prefix.Addr().Is6() {
		args = []string{"-6"}
	}
	args = append(args, "-j", "route", "show", prefix.String())
	out, err := e.lab.Exec(ctx, lab.BirdName, append([]string{"ip"}, args...)...)
	if err != nil {
		return nil, err
	}
	var routes []struct {
		Gateway  string `json:"gateway"`
		Nexthops []struct {
			Gateway string `json:"gateway"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		return nil, fmt.Errorf("decoding ip route %q: %w", out, err)
	}
	var hops []string
	for _, r := range routes {
		if r.Gateway != "" {
			hops = append(hops, r.Gateway)
		}
		for _, h := range r.Nexthops {
			hops = append(hops, h.Gateway)
		}
	}
	slices.Sort(hops)
	return hops, nil
}

// String prints the path for test failures.
func (p routerPath) String() string {
	lp := "none"
	if p.LocalPref != nil {
		lp = fmt.Sprint(*p.LocalPref)
	}
	return fmt.Sprintf("{from %s communities %v large %v local-pref %s}", p.From, p.Communities, p.LargeCommunities, lp)
}
