package kubectlplugin

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Probe is one probe of a drill: a TCP connect or an ICMP echo to the
// Service IP.
type Probe struct {
	// Sent is when it was sent.
	Sent time.Time
	// OK is whether it was answered in time (a connection made, an echo
	// reply).
	OK bool
}

// Phase sums up the probes sent in one phase of a drill.
type Phase struct {
	// Sent and Lost count the probes sent in the phase and those not
	// answered.
	Sent, Lost int
	// Gaps counts the runs of consecutive lost probes.
	Gaps int
	// Outage is the longest gap: from the first lost probe of the run to
	// the first answered one after it (to the phase's end when none was).
	// It is exact to the probe interval.
	Outage time.Duration
	// OutageStart is when that gap began (zero: no probe was lost).
	OutageStart time.Time
	// Recovered is whether the phase's last probe was answered.
	Recovered bool
}

// Summarize sums up the probes sent in [from, to) (sorted by Sent or not).
func Summarize(probes []Probe, from, to time.Time) Phase {
	in := make([]Probe, 0, len(probes))
	for _, p := range probes {
		if !p.Sent.Before(from) && p.Sent.Before(to) {
			in = append(in, p)
		}
	}
	sort.SliceStable(in, func(i, j int) bool { return in[i].Sent.Before(in[j].Sent) })
	var ph Phase
	ph.Sent = len(in)
	var runStart time.Time
	end := func(at time.Time) {
		if d := at.Sub(runStart); d > ph.Outage || ph.OutageStart.IsZero() {
			ph.Outage, ph.OutageStart = d, runStart
		}
		runStart = time.Time{}
	}
	for _, p := range in {
		switch {
		case !p.OK:
			ph.Lost++
			if runStart.IsZero() {
				runStart = p.Sent
				ph.Gaps++
			}
		case !runStart.IsZero():
			end(p.Sent)
		}
	}
	if !runStart.IsZero() {
		end(to)
	}
	ph.Recovered = len(in) > 0 && in[len(in)-1].OK
	return ph
}

// DrillReport is what a drill measured.
type DrillReport struct {
	// Plan is the drill.
	Plan *DrillPlan
	// From says where the probes came from; ProbeDesc what they were
	// ("tcp connect 192.0.2.10:8080 every 10ms").
	From, ProbeDesc string
	// Start is when the annotation was written, Released when it was
	// removed, End when probing stopped.
	Start, Released, End time.Time
	// Expiry is the annotation's expiry.
	Expiry time.Time
	// GaveUp is when the NodeStates first showed Plan.Node no longer
	// announcing the IP; TakenOver when they showed another node
	// announcing it without Plan.Node (zero: not seen); TakenOverBy those
	// nodes.
	GaveUp, TakenOver time.Time
	TakenOverBy       []string
	// Back is when the NodeStates showed Plan.Node announcing the IP again
	// after Released (in L2 mode: alone); zero: not seen before End.
	Back time.Time
	// Drill and Return are the probes of [Start, Released) and [Released,
	// End].
	Drill, Return Phase
	// Interrupted is set when the drill was cut short (the annotation was
	// removed all the same).
	Interrupted bool
}

// CameBack reports whether the drilled node announces the IP again and the
// last probe was answered.
func (r *DrillReport) CameBack() bool {
	return !r.Back.IsZero() && r.Return.Recovered
}

// FormatDrill prints the report.
func FormatDrill(w io.Writer, r *DrillReport) error {
	p := &printer{w: w}
	pl := r.Plan
	since := func(t time.Time) string {
		if t.IsZero() {
			return "not seen"
		}
		return "+" + t.Sub(r.Start).Round(time.Millisecond).String()
	}
	p.f("Drill of %s (%s, %s mode): node %s gives it up", pl.Service, pl.IP, pl.Mode, pl.Node)
	p.f("Probes: %s, from %s", r.ProbeDesc, r.From)
	p.f("")
	p.f("Timeline (NodeStates, polled every 100ms; the speakers write them at most once a second):")
	p.f("  +0s       annotated %s=%s,%s", "heraldlb.io/drill", pl.Node, r.Expiry.UTC().Format(time.RFC3339))
	p.f("  %-9s %s no longer announces %s", since(r.GaveUp), pl.Node, pl.IP)
	p.f("  %-9s %s of %s: %s", since(r.TakenOver), takeWord(pl.Mode), pl.IP, joinOr(r.TakenOverBy, ", ", "none"))
	cut := ""
	if r.Interrupted {
		cut = " (interrupted)"
	}
	p.f("  %-9s annotation removed%s", since(r.Released), cut)
	p.f("  %-9s %s announces %s again", since(r.Back), pl.Node, pl.IP)
	p.f("")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tprobes\tlost\tgaps\tlongest outage\tlast probe")
	row := func(name string, ph Phase) {
		out := "0s"
		if ph.Lost > 0 {
			out = ph.Outage.Round(time.Millisecond).String()
		}
		last := "answered"
		switch {
		case ph.Sent == 0:
			last = "-"
		case !ph.Recovered:
			last = "lost"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", name, ph.Sent, ph.Lost, ph.Gaps, out, last)
	}
	row("give up ("+pl.Node+" out)", r.Drill)
	row("come back ("+pl.Node+" in)", r.Return)
	if err := tw.Flush(); err != nil {
		return err
	}
	p.f("")
	switch pl.Mode {
	case ModeL2:
		p.f("New owner: %s", joinOr(r.TakenOverBy, ", ", "not seen in the NodeStates"))
	default:
		p.f("Paths left: %s (the router keeps their routes; %s withdrew its own)", joinOr(r.TakenOverBy, ", ", "not seen in the NodeStates"), pl.Node)
	}
	if r.Drill.Lost > 0 {
		p.f("Time to the new %s: %s (first lost probe to the first answered one)", pathWord(pl.Mode), r.Drill.Outage.Round(time.Millisecond))
	} else {
		p.f("Time to the new %s: no probe lost", pathWord(pl.Mode))
	}
	switch {
	case r.Interrupted && r.Back.IsZero():
		p.f("Old node: not watched: the drill was interrupted %s after the annotation was written, which was removed then",
			r.Released.Sub(r.Start).Round(time.Millisecond))
	case r.CameBack():
		p.f("Old node: %s came back cleanly (announcing %s again %s after the annotation was removed; %d probe(s) lost meanwhile)",
			pl.Node, pl.IP, r.Back.Sub(r.Released).Round(time.Millisecond), r.Return.Lost)
	default:
		var why []string
		if r.Back.IsZero() {
			why = append(why, fmt.Sprintf("its NodeState does not show %s announced again", pl.IP))
		}
		if !r.Return.Recovered {
			why = append(why, "the last probe was lost")
		}
		p.f("Old node: %s did NOT come back cleanly: %s", pl.Node, strings.Join(why, "; "))
	}
	return p.err
}

func takeWord(mode string) string {
	if mode == ModeL2 {
		return "new owner"
	}
	return "remaining paths"
}

func pathWord(mode string) string {
	if mode == ModeL2 {
		return "owner"
	}
	return "path"
}
