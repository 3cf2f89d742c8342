package kubectlplugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/impact"
)

// PlanEdits overlays edits on the live snapshot and says what herald would
// do differently (impact.Compute: the controller's allocator, the
// speakers' planner and frrconfig.Render on both states). It marks the
// edits that create objects.
func PlanEdits(snap *Snapshot, edits []Edit) (*impact.Report, error) {
	after, err := snap.Overlay(edits)
	if err != nil {
		return nil, err
	}
	nsLabels := map[string]map[string]string{}
	for _, n := range snap.Namespaces {
		nsLabels[n.Name] = n.Labels
	}
	b, a := snap.planner(), after.planner()
	return impact.Compute(&b, &a, nsLabels), nil
}

// PlanJSON is what kubectl herald diff -f -o json prints.
type PlanJSON struct {
	// Changed is whether anything would change (the exit code is 1 then).
	Changed bool `json:"changed"`
	// Objects are the edited objects, "Kind namespace/name (new|edited|deleted)".
	Objects []string `json:"objects"`
	// Warnings are what the client could not read.
	Warnings []string `json:"warnings,omitempty"`
	*impact.Report
}

// FormatPlanJSON prints the report as JSON.
func FormatPlanJSON(w io.Writer, snap *Snapshot, edits []Edit, r *impact.Report) error {
	out := PlanJSON{Changed: r.Changed(), Report: r, Warnings: snap.Warnings, Objects: []string{}}
	for _, e := range edits {
		out.Objects = append(out.Objects, e.String())
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// FormatPlan prints kubectl herald diff -f: the edited objects, the
// Services affected, the IPs the controller would move, per node the
// frr.conf diff and per peer the prefixes added (+) and withdrawn (-), the
// L2 IPs that would move, and new problems.
func FormatPlan(w io.Writer, snap *Snapshot, edits []Edit, r *impact.Report) error {
	p := &printer{w: w}
	p.f("Objects (%d, nothing applied):", len(edits))
	for _, e := range edits {
		p.f("  %-60s %s", e.String(), e.Source)
	}
	for _, warn := range snap.Warnings {
		p.f("warning: %s", warn)
	}
	for _, a := range r.Unconverged {
		p.f("note: the controller has yet to settle %s (%s → %s: %s); both sides include it", a.Service, addrs(a.Before), addrs(a.After), a.Reason)
	}
	if !r.Changed() {
		p.f("")
		p.f("No change: every node would run the same frr.conf, announce the same prefixes and answer for the same L2 IPs.")
		return p.err
	}
	if len(r.Services) > 0 {
		p.f("")
		p.f("Services affected (%d):", len(r.Services))
	}
	for _, s := range r.Services {
		p.f("  %s", s.Service)
		for _, w := range s.What {
			p.f("    %s", w)
		}
	}
	if len(r.Allocations) > 0 {
		p.f("")
		p.f("IP allocation (as the controller would do it):")
		for _, a := range r.Allocations {
			p.f("  %-30s %s → %s  %s", a.Service, addrs(a.Before), addrs(a.After), a.Reason)
		}
	}
	for _, n := range r.Nodes {
		p.f("")
		p.f("Node %s", n.Node)
		if n.RenderError != "" {
			p.f("  cannot render: %s", n.RenderError)
		}
		for _, pc := range n.Peers {
			vrf := ""
			if pc.VRF != "" {
				vrf = " vrf " + pc.VRF
			}
			p.f("  peer %s (%s%s):", pc.Peer, pc.Neighbor, vrf)
			for _, x := range pc.Added {
				p.f("    + %s", x)
			}
			for _, x := range pc.Withdrawn {
				p.f("    - %s", x)
			}
		}
		if n.ConfigDiff == "" {
			p.f("  frr.conf: unchanged")
			continue
		}
		p.f("  frr.conf (passwords redacted):")
		for _, l := range strings.Split(strings.TrimRight(n.ConfigDiff, "\n"), "\n") {
			p.f("    %s", l)
		}
	}
	if len(r.L2Moves) > 0 {
		p.f("")
		p.f("Layer 2 (assuming every eligible node is live):")
		for _, m := range r.L2Moves {
			p.f("  %-20s %s → %s  (%s)", m.IP, orNone(m.From), orNone(m.To), strings.Join(m.Services, ", "))
		}
	}
	if len(r.NewProblems) > 0 {
		p.f("")
		p.f("New problems (the speakers keep the last good version of the objects at fault):")
		for _, pr := range r.NewProblems {
			p.f("  %s", pr)
		}
	}
	return p.err
}

func addrs(ips []netip.Addr) string {
	if len(ips) == 0 {
		return "none"
	}
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return strings.Join(s, ",")
}

func orNone(s string) string {
	if s == "" {
		return "no node"
	}
	return s
}

// ReadEditFiles reads the objects of kubectl herald diff -f: each path is
// a file, a directory (its .yaml, .yml and .json files, not recursing) or
// "-" for stdin. See ReadEdits.
func ReadEditFiles(paths []string, stdin io.Reader, heraldNS, defaultNS string) ([]Edit, error) {
	var out []Edit
	read := func(name string, data []byte) error {
		e, err := ReadEdits(name, data, heraldNS, defaultNS)
		out = append(out, e...)
		return err
	}
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading stdin: %w", err)
			}
			if err := read("<stdin>", data); err != nil {
				return nil, err
			}
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		files := []string{p}
		if st.IsDir() {
			ents, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("reading directory %s: %w", p, err)
			}
			files = nil
			for _, e := range ents {
				if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("directory %s holds no .yaml, .yml or .json file", p)
			}
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f, err)
			}
			if err := read(f, data); err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no object to diff", strings.Join(paths, ", "))
	}
	return out, nil
}

// DiffEdits loads the live state with c (Services, EndpointSlices, Nodes,
// Namespaces, password Secrets, herald's objects), plans the edits on it
// and prints the report, as text or JSON. changed is whether anything
// would change.
func DiffEdits(ctx context.Context, c client.Reader, opts LoadOptions, edits []Edit, asJSON bool, w io.Writer) (changed bool, err error) {
	opts.Service, opts.Secrets, opts.Namespaces = "", true, true
	snap, err := Load(ctx, c, opts)
	if err != nil {
		return false, err
	}
	r, err := PlanEdits(snap, edits)
	if err != nil {
		return false, err
	}
	if asJSON {
		err = FormatPlanJSON(w, snap, edits, r)
	} else {
		err = FormatPlan(w, snap, edits, r)
	}
	return r.Changed(), err
}
