package kubectlplugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/drill"
)

// DrillOptions configure RunDrill.
type DrillOptions struct {
	// Load says what to read (every Service, whatever Load.Service);
	// Load.Service is the Service drilled, namespace/name.
	Load LoadOptions
	// Node, IP and Mode are PlanDrill's choices (zero: its defaults).
	Node string
	IP   netip.Addr
	Mode string
	// Probe says how to probe; its Addr is the plan's IP, and a zero Port
	// the Service's first TCP port. Proto empty: tcp when the Service has
	// a TCP port, else icmp.
	Probe ProbeTarget
	// From describes where the probes come from, for the report.
	From string
	// Duration is how long the node gives the Service up; Settle bounds
	// the waits for the NodeStates to show the change (after Duration)
	// and the node's return.
	Duration, Settle time.Duration
	// DryRun prints the plan and changes nothing.
	DryRun bool
	// Poll is how often the NodeStates are read (default 100ms).
	Poll time.Duration
}

// expiryMargin is added to the longest a drill can last to make the
// annotation's expiry.
const expiryMargin = 10 * time.Second

// RunDrill runs a drill: it plans it (refusing as PlanDrill does), prints
// the plan to w, and unless DryRun probes the IP, annotates the Service,
// waits Duration, removes the annotation (also when ctx ends), waits for
// the node to come back and returns the report (nil for a dry run).
func RunDrill(ctx context.Context, c client.Client, o DrillOptions, w io.Writer) (*DrillReport, error) {
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.Duration <= 0 || o.Settle <= 0 {
		return nil, errors.New("--duration and --settle must be positive")
	}
	if o.Duration+o.Settle+expiryMargin > drill.MaxDuration {
		return nil, fmt.Errorf("--duration plus --settle must stay under %s (the speakers ignore a drill annotation expiring later)", drill.MaxDuration-expiryMargin)
	}
	// Every Service: one sharing the IP is a reason to refuse.
	lo := o.Load
	lo.Service = ""
	snap, err := Load(ctx, c, lo)
	if err != nil {
		return nil, err
	}
	plan, err := PlanDrill(snap, o.Load.Service, o.Node, o.IP, o.Mode, time.Now())
	if err != nil {
		return nil, err
	}
	t := o.Probe
	t.Addr = plan.IP
	if t.Port == 0 && plan.Port > 0 {
		t.Port = uint16(plan.Port)
	}
	if t.Proto == "" {
		t.Proto = "tcp"
		if t.Port == 0 {
			t.Proto = "icmp"
		}
	}
	if t.Proto == "tcp" && t.Port == 0 {
		return nil, fmt.Errorf("Service %s has no TCP port to probe: use --probe icmp or --port", plan.Service)
	}
	FormatDrillPlan(w, plan, t, o)
	if o.DryRun {
		return nil, nil
	}

	prober, err := StartProber(ctx, t)
	if err != nil {
		return nil, err
	}
	stopped := false
	stop := func() []Probe {
		if stopped {
			return prober.Probes()
		}
		stopped = true
		return prober.Stop()
	}
	defer stop()
	// A baseline: a drill measures the loss of a path that works.
	base := time.Now()
	if err := sleep(ctx, 300*time.Millisecond+t.Timeout); err != nil {
		return nil, err
	}
	if ph := Summarize(prober.Probes(), base, time.Now().Add(-t.Timeout)); ph.Sent == 0 || ph.Lost*2 > ph.Sent {
		return nil, fmt.Errorf("%d of %d probes (%s) from %s were lost before the drill: there is no working path to measure; check it, or use --probe icmp or --port",
			ph.Lost, ph.Sent, t, o.From)
	}

	r := &DrillReport{Plan: plan, From: o.From, ProbeDesc: t.String()}
	svc := &corev1.Service{}
	svc.Namespace, svc.Name = splitKey(plan.Service)
	r.Start = time.Now()
	r.Expiry = r.Start.Add(o.Duration + o.Settle + expiryMargin)
	d := drill.Drill{Node: plan.Node, Expiry: r.Expiry}
	if err := annotate(ctx, c, svc, ptr(d.String())); err != nil {
		return nil, fmt.Errorf("annotating Service %s: %w", plan.Service, err)
	}
	fmt.Fprintf(w, "\n%s annotated %s=%s\n", r.Start.Format("15:04:05.000"), drill.Annotation, d)
	released := false
	release := func() error {
		if released {
			return nil
		}
		released = true
		// Undone even when ctx ended (interrupted kubectl).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		r.Released = time.Now()
		if err := annotate(rctx, c, svc, nil); err != nil {
			return fmt.Errorf("removing annotation %s from Service %s (it expires by itself at %s): %w",
				drill.Annotation, plan.Service, r.Expiry.UTC().Format(time.RFC3339), err)
		}
		fmt.Fprintf(w, "%s removed %s\n", r.Released.Format("15:04:05.000"), drill.Annotation)
		return nil
	}
	defer func() { _ = release() }()

	// Phase 1: the node gives the Service up, for Duration at least and
	// until the NodeStates show it (at most Settle more).
	var runErr error
	hold, limit := r.Start.Add(o.Duration), r.Start.Add(o.Duration+o.Settle)
	for {
		now := time.Now()
		ann, err := announcing(ctx, c, plan)
		if err == nil {
			if r.GaveUp.IsZero() && !slices.Contains(ann, plan.Node) {
				r.GaveUp = now
			}
			if r.TakenOver.IsZero() && len(ann) > 0 && !slices.Contains(ann, plan.Node) {
				r.TakenOver, r.TakenOverBy = now, ann
			}
		}
		if (now.After(hold) && !r.TakenOver.IsZero()) || now.After(limit) {
			break
		}
		if err := sleep(ctx, o.Poll); err != nil {
			runErr = err
			r.Interrupted = true
			break
		}
	}
	if err := release(); err != nil {
		return nil, err
	}
	// Phase 2: the node comes back.
	limit = r.Released.Add(o.Settle)
	for runErr == nil {
		now := time.Now()
		if ann, err := announcing(ctx, c, plan); err == nil && r.Back.IsZero() && slices.Contains(ann, plan.Node) &&
			(plan.Mode != ModeL2 || len(ann) == 1) {
			r.Back = now
		}
		// Probe a second past the return: a late loss shows.
		if (!r.Back.IsZero() && now.After(r.Back.Add(time.Second))) || now.After(limit) {
			break
		}
		if err := sleep(ctx, o.Poll); err != nil {
			runErr = err
			r.Interrupted = true
		}
	}
	probes := stop()
	r.End = time.Now()
	r.Drill = Summarize(probes, r.Start, r.Released)
	r.Return = Summarize(probes, r.Released, r.End.Add(time.Nanosecond))
	fmt.Fprintln(w)
	if err := FormatDrill(w, r); err != nil {
		return r, err
	}
	if runErr != nil {
		return r, fmt.Errorf("interrupted: %w", runErr)
	}
	return r, nil
}

// FormatDrillPlan prints what the drill does.
func FormatDrillPlan(w io.Writer, p *DrillPlan, t ProbeTarget, o DrillOptions) {
	pr := &printer{w: w}
	verb := "Drill"
	if o.DryRun {
		verb = "Dry run: would drill"
	}
	pr.f("%s %s: %s in %s mode, announced now by %s", verb, p.Service, p.IP, p.Mode, joinOr(p.Announcing, ", ", "nobody"))
	pr.f("  node %s gives it up: annotation %s=%s,<now+%s> on the Service (the speakers ignore it once expired)",
		p.Node, drill.Annotation, p.Node, o.Duration+o.Settle+expiryMargin)
	pr.f("  held %s (longer, up to %s more, until the NodeStates show the change), then removed, also on interrupt", o.Duration, o.Settle)
	pr.f("  may take over: %s (%s)", joinOr(p.Others, ", ", "none"), joinOr(p.Advertisements, "; ", "no advertisement"))
	pr.f("  probes: %s, from %s", t, o.From)
	pr.f("  then %s should announce %s again within %s", p.Node, p.IP, o.Settle)
}

// announcing lists the nodes the NodeStates show announcing plan.IP in
// plan.Mode, sorted.
func announcing(ctx context.Context, c client.Reader, plan *DrillPlan) ([]string, error) {
	var states v1beta1.NodeStateList
	if err := c.List(ctx, &states); err != nil {
		return nil, err
	}
	s := Snapshot{NodeStates: states.Items}
	routes, answers := s.announcedBy(plan.IP)
	var out []string
	if plan.Mode == ModeL2 {
		for _, a := range answers {
			out = append(out, a.node)
		}
	} else {
		for _, r := range routes {
			out = append(out, r.node)
		}
	}
	return slices.Compact(sortedCopy(out)), nil
}

// annotate sets the drill annotation to *value, or removes it when nil.
func annotate(ctx context.Context, c client.Client, svc *corev1.Service, value *string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]*string{drill.Annotation: value}}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, svc, client.RawPatch(types.MergePatchType, patch))
}

func splitKey(k string) (ns, name string) {
	for i := range k {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return "", k
}

func ptr[T any](v T) *T { return &v }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
