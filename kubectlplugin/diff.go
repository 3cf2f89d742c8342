package kubectlplugin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/speaker/planner"
)

// passwordLine matches a neighbor password line of frr.conf.
var passwordLine = regexp.MustCompile(`^(\s*neighbor \S+ password ).*$`)

// FormatDiff prints `kubectl herald diff NODE`. The API does not hold the
// frr.conf a node runs, only what its NodeState reports about it (hash,
// generation, result, method, rejected lines); FormatDiff says so, prints
// that, and compares it with the config herald renders for the node from the
// objects in snap (speaker/planner then frrconfig.Render, as the speaker
// does): equal hashes mean the printed config is the applied one. Passwords
// are printed as <redacted>.
func FormatDiff(w io.Writer, snap *Snapshot, node string) error {
	p := &printer{w: w}
	ns := snap.nodeState(node)
	known := false
	for _, n := range snap.Nodes {
		known = known || n.Name == node
	}
	if ns == nil && !known {
		return fmt.Errorf("node %s: %w (no Node and no NodeState of that name)", node, ErrNotFound)
	}
	p.f("Node %s", node)
	p.f("")
	p.f("Applied, as NodeState %s reports it (the API holds no copy of the applied frr.conf, only its hash):", node)
	var appliedHash, runningHash string
	switch {
	case ns == nil:
		p.f("  no NodeState: the speaker on %s has not reported (is it running?)", node)
	case ns.Status.FRR == nil:
		p.f("  no FRR config applied yet")
	default:
		f := ns.Status.FRR
		appliedHash, runningHash = f.Hash, f.RunningHash
		p.f("  generation:   %d", f.Generation)
		p.f("  result:       %s", f.Result)
		p.f("  method:       %s", orDash(string(f.Method)))
		if f.Duration != nil {
			p.f("  duration:     %s", f.Duration.Round(time.Microsecond))
		}
		p.f("  hash:         %s (the config of this generation)", orDash(f.Hash))
		p.f("  running hash: %s (the config FRR runs now)", orDash(f.RunningHash))
		if f.Message != "" {
			p.f("  message:      %s", f.Message)
		}
		if len(f.RejectedLines) > 0 {
			p.f("  rejected lines:")
			for _, l := range f.RejectedLines {
				p.f("    %s", l)
			}
		}
	}
	ps := snap.planner()
	res := planner.Plan(&ps, node)
	if res.Config.RouteMapDelaySeconds == 0 { // as the speaker sends it
		res.Config.RouteMapDelaySeconds = frrconfig.SpeakerRouteMapDelaySeconds
	}
	text, err := frrconfig.Render(&res.Config)
	p.f("")
	if err != nil {
		p.f("Expected: herald cannot render a config for %s from the cluster's objects: %v", node, err)
		return p.err
	}
	sum := sha256.Sum256(text)
	hash := hex.EncodeToString(sum[:])
	p.f("Expected, rendered now from the cluster's objects (as the speaker plans it):")
	p.f("  hash:         %s", hash)
	switch {
	case ns == nil || ns.Status.FRR == nil:
		p.f("  verdict:      nothing applied to compare with")
	case hash == runningHash && hash == appliedHash:
		p.f("  verdict:      the node runs exactly this config")
	case hash == runningHash:
		p.f("  verdict:      the node runs this config; its latest generation (hash %s) was not applied (%s)", short(appliedHash), ns.Status.FRR.Result)
	case hash == appliedHash:
		p.f("  verdict:      the latest generation is this config but the node does not run it (%s)", ns.Status.FRR.Result)
	default:
		p.f("  verdict:      DIFFERENT: the node has not applied this config yet, or the speaker sees other objects (a broken object keeps its last good version in the speaker; a password Secret this client cannot read changes the hash)")
	}
	for _, pr := range res.Problems {
		p.f("  problem:      %s", pr.String())
	}
	for _, warn := range snap.Warnings {
		p.f("  warning:      %s", warn)
	}
	p.f("")
	p.f("Expected frr.conf (passwords redacted):")
	for _, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		p.f("  %s", passwordLine.ReplaceAllString(l, "${1}<redacted>"))
	}
	return p.err
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return orDash(h)
}

// planner returns the planner's view of the snapshot.
func (s *Snapshot) planner() planner.Snapshot {
	return planner.Snapshot{Namespace: s.Namespace, LBClass: s.LBClass, Services: s.Services,
		EndpointSlices: s.EndpointSlices, Nodes: s.Nodes, Secrets: s.Secrets, Pools: s.Pools, Peers: s.Peers,
		BFDProfiles: s.BFDProfiles, BGPAdvertisements: s.BGPAdvertisements, L2Advertisements: s.L2Advertisements,
		Communities: s.Communities, Now: s.Now}
}
