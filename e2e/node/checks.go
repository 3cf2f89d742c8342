package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// installer is one way users install herald: kubectl apply -k, helm.
type installer struct {
	name      string // how the report names it
	install   func(ctx context.Context) error
	uninstall func(ctx context.Context) error
	// leftovers lists what the uninstall is allowed to leave (the chart's
	// CRDs: Helm never deletes crds/), to tell them from forgotten objects.
	keeps func(obj string) bool
	// after, if set, removes what keeps allowed, once checked.
	after func(ctx context.Context) error
}

// phase installs herald one way and runs every check on it, then removes
// it. A failed check stops the checks that depend on it, not the phase's
// uninstall.
func (e *e2e) phase(ctx context.Context, in installer) {
	r, c := e.report, e.cluster
	r.note("--- herald installed with %s", in.name)
	if r.check(in.name+": install", func() error { return in.install(ctx) }) != nil {
		return
	}
	defer e.uninstallChecks(ctx, in)
	if r.check(in.name+": herald pods Ready", func() error { return e.heraldReady(ctx) }) != nil {
		e.dumpHerald(ctx)
		return
	}
	r.check(in.name+": FRR's daemons run in the sidecar", func() error {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		return poll(wctx, 250*time.Millisecond, frrDaemonsRun)
	})
	bfdBefore, err := e.bfdBaseline(ctx)
	if err != nil {
		r.note("reading the router's BFD counters before the objects: %v", err)
	}
	if r.check(in.name+": BGP and L2 objects applied", func() error { return c.apply(ctx, "herald-objects", heraldObjects()) }) != nil {
		return
	}
	r.check(in.name+": speaker connected to the agent (NodeState FRR apply Applied)", func() error { return e.speakerApplied(ctx) })
	applied := time.Now()
	if r.check(in.name+": Services applied", func() error { return c.apply(ctx, "web-services", webServices()) }) != nil {
		return
	}
	var ips []netip.Addr
	if r.check(in.name+": Service default/web gets an IPv4 and an IPv6 address from pool hnode-bgp", func() (err error) {
		ips, err = e.serviceIPs(ctx, "web", bgpPool4, bgpPool6)
		return err
	}) == nil {
		if r.check(in.name+": router holds "+ips[0].String()+"/32 and "+ips[1].String()+"/128 via the node", func() error {
			return e.routes(ctx, ips, true)
		}) == nil {
			r.note("apply to route at the router: %s", time.Since(applied).Round(10*time.Millisecond))
		}
		r.check(in.name+": BFD up with the router on both sessions from the first second: no BFD down, no BGP session dropped (FRR 10 sidecar, FRR 8.4 router)", func() error {
			what, err := e.bfdSteady(ctx, bfdBefore)
			if err != nil {
				e.dumpSidecar(ctx)
				return err
			}
			r.note("%s", what)
			return nil
		})
		for _, ip := range ips {
			r.check(in.name+": HTTP from the router through "+ip.String()+" reaches a web pod", func() error { return e.httpThrough(ctx, ip) })
		}
	}
	r.check(in.name+": L2 Service default/web-l2 answered by ARP and NDP on the LAN", func() error {
		l2, err := e.serviceIPs(ctx, "web-l2", l2Pool4, l2Pool6)
		if err != nil {
			return err
		}
		return e.l2Answers(ctx, l2)
	})
	if len(ips) == 2 {
		e.killBGPD(ctx, in.name, ips)
	}
	r.check(in.name+": no 'forbidden' in any herald container's log", func() error { return e.noForbidden(ctx) })
	r.check(in.name+": FRR 10 took every incremental apply (no fallback to a full reload in the agent's log)", func() error { return e.noReloadFallback(ctx) })
	e.withdrawn = ips
}

// uninstallChecks removes herald and checks the routes go and nothing of
// herald stays; then removes the Services so the next phase starts clean.
func (e *e2e) uninstallChecks(ctx context.Context, in installer) {
	r, c := e.report, e.cluster
	ips := e.withdrawn
	e.withdrawn = nil
	start := time.Now()
	if r.check(in.name+": uninstall", func() error { return in.uninstall(ctx) }) == nil && len(ips) > 0 {
		r.check(in.name+": uninstall withdraws the routes at the router", func() error { return e.routes(ctx, ips, false) })
		r.note("uninstall to withdrawal at the router: %s", time.Since(start).Round(10*time.Millisecond))
	}
	r.check(in.name+": no herald object left behind", func() error { return e.nothingLeft(ctx, in.keeps) })
	if in.after != nil {
		if err := in.after(ctx); err != nil {
			r.note("after %s: %v", in.name, err)
		}
	}
	if _, err := c.kubectl(ctx, "-n", "default", "delete", "service", "web", "web-l2", "--ignore-not-found", "--wait"); err != nil {
		r.note("removing the Services: %v", err)
	}
}

// apply applies YAML through a file in the run's folder.
func (c *cluster) apply(ctx context.Context, name, yaml string) error {
	path := filepath.Join(c.p.install(), name+".yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err := c.kubectl(ctx, "apply", "-f", path)
	return err
}

// heraldReady waits for herald's pods to exist and be Ready.
func (e *e2e) heraldReady(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 180*time.Second)
	defer cancel()
	return poll(wctx, time.Second, func() error {
		pods, err := e.heraldPods(wctx)
		if err != nil {
			return err
		}
		if len(pods.Items) < 2 {
			return fmt.Errorf("%d herald pods, want a controller and a speaker", len(pods.Items))
		}
		for _, p := range pods.Items {
			if !p.ready() {
				return fmt.Errorf("pod %s not Ready: phase %s, %s", p.Metadata.Name, p.Status.Phase, p.waiting())
			}
		}
		return nil
	})
}

// pod is the part of a Pod the checks read.
type pod struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		InitContainers []struct{ Name string } `json:"initContainers"`
		Containers     []struct{ Name string } `json:"containers"`
	} `json:"spec"`
	Status struct {
		Phase      string `json:"phase"`
		Conditions []struct {
			Type, Status string
		} `json:"conditions"`
		ContainerStatuses []struct {
			Name         string `json:"name"`
			Ready        bool   `json:"ready"`
			RestartCount int    `json:"restartCount"`
			State        map[string]struct {
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"state"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

type podList struct{ Items []pod }

func (p pod) ready() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

func (p pod) restarts() int {
	n := 0
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}

// waiting says which containers wait or ended and why.
func (p pod) waiting() string {
	var out []string
	for _, c := range p.Status.ContainerStatuses {
		for state, s := range c.State {
			if state != "running" {
				out = append(out, fmt.Sprintf("%s %s %s %s", c.Name, state, s.Reason, s.Message))
			}
		}
		if !c.Ready {
			out = append(out, c.Name+" not ready")
		}
	}
	return strings.Join(out, "; ")
}

func (e *e2e) heraldPods(ctx context.Context) (podList, error) {
	var l podList
	out, err := e.cluster.kubectl(ctx, "-n", heraldNS, "get", "pods", "-o", "json")
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return l, fmt.Errorf("reading herald's pods: %w", err)
	}
	return l, nil
}

// speakerPod returns herald's speaker pod (the one with an frr container).
func (e *e2e) speakerPod(ctx context.Context) (pod, error) {
	l, err := e.heraldPods(ctx)
	if err != nil {
		return pod{}, err
	}
	for _, p := range l.Items {
		for _, c := range p.Spec.Containers {
			if c.Name == "frr" {
				return p, nil
			}
		}
	}
	return pod{}, errors.New("no herald pod has an frr container")
}

// frrDaemonsRun looks for zebra, bgpd, bfdd and staticd among the pods'
// processes (the kubelet's cgroups): the router's FRR is not in them.
func frrDaemonsRun() error {
	want := map[string]bool{"zebra": false, "bgpd": false, "bfdd": false, "staticd": false}
	for _, pid := range cgroupPIDs() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		if _, ok := want[strings.TrimSpace(string(b))]; ok {
			want[strings.TrimSpace(string(b))] = true
		}
	}
	var missing []string
	for d, ok := range want {
		if !ok {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no %s process in any pod", strings.Join(missing, ", "))
	}
	return nil
}

// daemonPID returns the pid of an FRR daemon in the pods' cgroups.
func daemonPID(name string) (int, error) {
	for _, pid := range cgroupPIDs() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(b)) == name {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no %s in any pod", name)
}

// speakerApplied waits for the node's NodeState to report an applied FRR
// config: the speaker reached the agent and the agent reached FRR.
func (e *e2e) speakerApplied(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return poll(wctx, 500*time.Millisecond, func() error {
		out, err := e.cluster.kubectl(wctx, "get", "nodestate", nodeName, "-o", "jsonpath={.status.frr.result} {.status.frr.message}")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(out, "Applied") {
			return fmt.Errorf("NodeState %s: FRR apply %q", nodeName, out)
		}
		return nil
	})
}

// serviceIPs waits for a Service's IPv4 and IPv6 ingress addresses and
// checks they come from the given prefixes.
func (e *e2e) serviceIPs(ctx context.Context, name, pool4, pool6 string) ([]netip.Addr, error) {
	var ips []netip.Addr
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := poll(wctx, 250*time.Millisecond, func() error {
		out, err := e.cluster.kubectl(wctx, "-n", "default", "get", "service", name, "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
		if err != nil {
			return err
		}
		ips = ips[:0]
		for _, f := range strings.Fields(out) {
			ip, err := netip.ParseAddr(f)
			if err != nil {
				return fmt.Errorf("service %s: ingress %q: %w", name, f, err)
			}
			ips = append(ips, ip)
		}
		if len(ips) != 2 || !ips[0].Is4() || !ips[1].Is6() {
			return fmt.Errorf("service %s has ingress %q, want one IPv4 and one IPv6 address", name, out)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, pool := range []string{pool4, pool6} {
		if !netip.MustParsePrefix(pool).Contains(ips[i]) {
			return nil, fmt.Errorf("service %s got %s, outside its pool's %s", name, ips[i], pool)
		}
	}
	return ips, nil
}

// routes waits until the router's kernel holds (present) or no longer holds
// a BGP route to each IP through the node: via its LAN address, or for
// IPv6 via its link-local address on the LAN, the next hop BGP prefers on a
// shared link.
func (e *e2e) routes(ctx context.Context, ips []netip.Addr, present bool) error {
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	hops := nodeHops(wctx)
	return poll(wctx, 100*time.Millisecond, func() error { return routesNow(wctx, ips, hops, present) })
}

// nodeHops returns the node's addresses a route at the router may go
// through: its LAN addresses and its IPv6 link-local address on the LAN.
func nodeHops(ctx context.Context) []string {
	hops := []string{nodeLAN4, nodeLAN6}
	if out, err := run(ctx, "ip", "-n", nodeNetns, "-6", "-o", "addr", "show", "dev", "lan", "scope", "link"); err == nil {
		for _, f := range strings.Fields(out) {
			if p, err := netip.ParsePrefix(f); err == nil && p.Addr().IsLinkLocalUnicast() {
				hops = append(hops, p.Addr().String())
			}
		}
	}
	return hops
}

// routesNow checks once that the router holds (present) or does not hold a
// BGP route to each IP via one of hops.
func routesNow(ctx context.Context, ips []netip.Addr, hops []string, present bool) error {
	for _, ip := range ips {
		family := "-4"
		if ip.Is6() {
			family = "-6"
		}
		out, err := run(ctx, inNetns(rtrNetns, "ip", family, "route", "show", netip.PrefixFrom(ip, ip.BitLen()).String(), "proto", "bgp")...)
		if err != nil {
			return err
		}
		out = strings.TrimSpace(out)
		has := false
		for _, h := range hops {
			has = has || strings.Contains(out+" ", "via "+h+" ")
		}
		if present && !has {
			return fmt.Errorf("router has no BGP route to %s via the node (%s): %q", ip, strings.Join(hops, ", "), out)
		}
		if !present && out != "" {
			return fmt.Errorf("router still routes %s: %s", ip, out)
		}
	}
	return nil
}

// httpThrough fetches http://IP/ from the router's namespace and expects a
// web pod's answer.
func (e *e2e) httpThrough(ctx context.Context, ip netip.Addr) error {
	url := "http://" + netip.AddrPortFrom(ip, 80).String() + "/"
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return poll(wctx, 500*time.Millisecond, func() error {
		out, err := run(wctx, inNetns(rtrNetns, "curl", "-sS", "--max-time", "3", url)...)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(out, "web web-") {
			return fmt.Errorf("%s answered %q, not a web pod", url, out)
		}
		return nil
	})
}

// l2Answers asks for the L2 Service's addresses from the router's side of
// the LAN: ARP (arping) for the IPv4 one, a Neighbor Solicitation (ndisc6)
// for the IPv6 one. The node's kernel holds neither address, so only
// herald's responder can answer.
func (e *e2e) l2Answers(ctx context.Context, ips []netip.Addr) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return poll(wctx, time.Second, func() error {
		out, _ := run(wctx, inNetns(rtrNetns, "arping", "-c", "3", "-C", "1", "-W", "0.2", "-w", "2", "-i", "lan", ips[0].String())...)
		if !strings.Contains(out, "bytes from") {
			return fmt.Errorf("no ARP answer for %s: %s", ips[0], strings.TrimSpace(out))
		}
		if _, err := run(wctx, inNetns(rtrNetns, "ndisc6", "-1", "-r", "2", "-w", "1000", ips[1].String(), "lan")...); err != nil {
			return fmt.Errorf("no NDP answer for %s: %w", ips[1], err)
		}
		return nil
	})
}

// bgpdBackLog is what the frr-agent logs when bgpd answers again after its
// vty socket closed (frragent/bgpdwatch.go).
const bgpdBackLog = "bgpd answers again after it went away"

// bgpdBackLogs counts the bgpdBackLog lines of the speaker pod's frr
// container.
func (e *e2e) bgpdBackLogs(ctx context.Context, pod string) int {
	out, err := e.cluster.kubectl(ctx, "-n", heraldNS, "logs", pod, "-c", "frr")
	if err != nil {
		return 0
	}
	return strings.Count(out, bgpdBackLog)
}

// killBGPD SIGKILLs bgpd in the sidecar and checks, as two checks, that
// herald notices (the speaker pod turns NotReady, a container restarts, or
// the agent saw watchfrr's restart of bgpd) and that the route is at the
// router again afterwards.
func (e *e2e) killBGPD(ctx context.Context, name string, ips []netip.Addr) {
	r := e.report
	var killed time.Time
	var before pod
	if r.check(name+": killing bgpd in the sidecar: the speaker pod turns NotReady or restarts, or the agent sees watchfrr restart bgpd", func() error {
		var err error
		if before, err = e.speakerPod(ctx); err != nil {
			return err
		}
		pid, err := daemonPID("bgpd")
		if err != nil {
			return err
		}
		backBefore := e.bgpdBackLogs(ctx, before.Metadata.Name)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("killing bgpd (pid %d): %w", pid, err)
		}
		killed = time.Now()
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		var seen string
		var gone time.Duration // when the router first lacked the route
		hops := nodeHops(wctx)
		if err := poll(wctx, 200*time.Millisecond, func() error {
			if gone == 0 && routesNow(wctx, ips, hops, true) != nil {
				gone = time.Since(killed)
				r.note("the router lost the route %s after the kill", gone.Round(10*time.Millisecond))
			}
			p, err := e.speakerPod(wctx)
			if err != nil {
				return err
			}
			switch {
			case !p.ready():
				seen = "NotReady"
			case p.restarts() > before.restarts():
				seen = "restarted (" + strconv.Itoa(p.restarts()-before.restarts()) + " restarts)"
			case e.bgpdBackLogs(wctx, p.Metadata.Name) > backBefore:
				// watchfrr (--interval 1) restarts bgpd within about a
				// second, faster than the kubelet's readiness period: the
				// pod may stay Ready, and that is right for a one-second
				// blip, as long as the agent saw it and re-checked.
				seen = "stayed Ready: watchfrr restarted bgpd and the agent saw it (log: \"" + bgpdBackLog + "\")"
			default:
				again := "bgpd not running again"
				if now, err := daemonPID("bgpd"); err == nil {
					again = fmt.Sprintf("bgpd running again as pid %d (watchfrr restarted it)", now)
				}
				return fmt.Errorf("speaker pod %s still Ready with %d restarts; %s", p.Metadata.Name, p.restarts(), again)
			}
			return nil
		}); err != nil {
			return err
		}
		r.note("speaker pod %s %s %s after the kill", before.Metadata.Name, seen, time.Since(killed).Round(10*time.Millisecond))
		return nil
	}) != nil && killed.IsZero() {
		return // bgpd was never killed
	}
	r.check(name+": after bgpd's kill the route is at the router again", func() error {
		if err := e.routes(ctx, ips, true); err != nil {
			e.dumpSidecar(ctx)
			return err
		}
		r.note("route at the router %s after the kill", time.Since(killed).Round(10*time.Millisecond))
		return nil
	})
	r.check(name+": after bgpd's kill BFD is up again with the router on both sessions", func() error {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := poll(wctx, 200*time.Millisecond, func() error { return e.bfdUp(wctx) }); err != nil {
			e.dumpSidecar(ctx)
			return err
		}
		r.note("BFD up again %s after the kill", time.Since(killed).Round(10*time.Millisecond))
		return nil
	})
}

// noForbidden reads every herald container's log (and the previous
// instance's, after a restart) and fails on any "forbidden".
func (e *e2e) noForbidden(ctx context.Context) error {
	return e.noLogLine(ctx, func(l string) bool { return strings.Contains(strings.ToLower(l), "forbidden") })
}

// incrementalFallback is what the frr-agent logs when FRR refused a
// command of an incremental apply and it reloaded the whole file instead.
const incrementalFallback = "incremental apply did not give the rendered config"

// noReloadFallback reads the herald containers' logs for incrementalFallback.
func (e *e2e) noReloadFallback(ctx context.Context) error {
	return e.noLogLine(ctx, func(l string) bool { return strings.Contains(l, incrementalFallback) })
}

// noLogLine reads every herald container's log (and the previous
// instance's, after a restart) and fails on any line bad matches.
func (e *e2e) noLogLine(ctx context.Context, bad func(string) bool) error {
	l, err := e.heraldPods(ctx)
	if err != nil {
		return err
	}
	var found []string
	for _, p := range l.Items {
		var names []string
		for _, c := range p.Spec.InitContainers {
			names = append(names, c.Name)
		}
		for _, c := range p.Spec.Containers {
			names = append(names, c.Name)
		}
		for _, cn := range names {
			for _, prev := range []bool{false, true} {
				out, err := e.cluster.kubectl(ctx, "-n", heraldNS, "logs", p.Metadata.Name, "-c", cn, "--previous="+strconv.FormatBool(prev))
				if err != nil {
					if !prev {
						return err
					}
					continue // no previous instance
				}
				for _, line := range strings.Split(out, "\n") {
					if bad(line) {
						found = append(found, p.Metadata.Name+"/"+cn+": "+line)
					}
				}
			}
		}
	}
	if len(found) > 0 {
		shown := found[:min(len(found), 5)]
		for i, l := range shown {
			if len(l) > 400 {
				shown[i] = l[:400] + "..."
			}
		}
		return fmt.Errorf("%d lines, the first:\n  %s", len(found), strings.Join(shown, "\n  "))
	}
	return nil
}

// nothingLeft lists cluster-scoped and herald-namespace objects whose name
// says herald (or heraldlb.io) after an uninstall; keeps excuses some.
func (e *e2e) nothingLeft(ctx context.Context, keeps func(string) bool) error {
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return poll(wctx, time.Second, func() error {
		out, err := e.cluster.kubectl(wctx, "get", "namespace,crd,clusterrole,clusterrolebinding,validatingwebhookconfiguration,mutatingwebhookconfiguration,priorityclass", "-o", "name")
		if err != nil {
			return err
		}
		// NodeStates are cluster-scoped and named after nodes: while their
		// CRD stays (Helm), the speakers' objects must still be gone.
		if states, err := e.cluster.kubectl(wctx, "get", "nodestates.heraldlb.io", "-o", "name"); err == nil {
			out += " " + states // nodestate.heraldlb.io/NAME
		}
		var left []string
		for _, obj := range strings.Fields(out) {
			if strings.Contains(obj, "herald") && (keeps == nil || !keeps(obj)) {
				left = append(left, obj)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("left behind: %s", strings.Join(left, " "))
		}
		return nil
	})
}

// dumpSidecar notes what the FRR sidecar and the router say about the BGP
// and BFD sessions, and the speaker pod's logs: what a stuck session needs.
func (e *e2e) dumpSidecar(ctx context.Context) {
	if pid, err := daemonPID("bgpd"); err == nil {
		for _, c := range []string{"show bgp summary", "show bfd peers", "show bgp neighbors", "show running-config"} {
			out, err := run(ctx, "nsenter", "-t", strconv.Itoa(pid), "-m", "-n", "vtysh", "-c", c)
			e.report.note("sidecar `%s` (err %v):\n%s", c, err, out)
		}
	} else {
		e.report.note("sidecar: %v", err)
	}
	for _, c := range []string{"show bgp summary", "show bfd peers brief"} {
		out, err := e.router.Vtysh(ctx, "-c", c)
		e.report.note("router `%s` (err %v):\n%s", c, err, out)
	}
	out, _ := e.cluster.kubectl(ctx, "-n", heraldNS, "logs", "--all-containers", "--prefix", "--tail", "60", "-l", "app.kubernetes.io/component=speaker")
	e.report.note("the speaker pod's logs (last 60 lines per container):\n%s", out)
}

// dumpHerald prints herald's pods and their recent logs, for a failed
// readiness check.
func (e *e2e) dumpHerald(ctx context.Context) {
	out, _ := e.cluster.kubectl(ctx, "-n", heraldNS, "get", "pods,events", "-o", "wide")
	e.report.note("herald's pods and events:\n%s", out)
	out, _ = e.cluster.kubectl(ctx, "-n", heraldNS, "logs", "--all-containers", "--prefix", "--tail", "20", "-l", "app.kubernetes.io/name=herald")
	e.report.note("herald's logs (last 20 lines per container):\n%s", out)
}
