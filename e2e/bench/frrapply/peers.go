package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/client"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/frrproc"
)

// peersRouterConf is the router of the -peers run: one eBGP session with
// the node over IPv6, with BFD at 100 ms × 3, so that a
// starved bfdd or bgpd shows as a BFD down within 300 ms.
const peersRouterConf = `frr defaults traditional
hostname router
!
router bgp 64500
 bgp router-id 198.51.100.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 2001:db8:100::11 remote-as 64512
 neighbor 2001:db8:100::11 update-source 2001:db8:100::1
 neighbor 2001:db8:100::11 bfd
 neighbor 2001:db8:100::11 bfd profile fast
 address-family ipv6 unicast
  neighbor 2001:db8:100::11 activate
 exit-address-family
exit
!
bfd
 profile fast
  transmit-interval 100
  receive-interval 100
  detect-multiplier 3
 exit
 !
exit
!
`

// peersBase is the node's config before the big change: 10 prefixes to
// the router, over a session with BFD.
func peersBase() *frrconfig.Config {
	r := frrconfig.Router{ASN: 64512, RouterID: netip.MustParseAddr("198.51.100.11")}
	var adv []frrconfig.Advertisement
	for i := range 10 {
		r.IPv6Networks = append(r.IPv6Networks, prefix(i))
		adv = append(adv, frrconfig.Advertisement{Prefix: prefix(i)})
	}
	r.Neighbors = []frrconfig.Neighbor{{Address: peer1, RemoteAS: "64500", UpdateSource: "2001:db8:100::11",
		BFD: true, BFDProfile: "fast", Families: []string{frrconfig.FamilyIPv6}, Advertise: adv}}
	return &frrconfig.Config{
		Routers:     []frrconfig.Router{r},
		BFDProfiles: []frrconfig.BFDProfile{{Name: "fast", ReceiveInterval: 100, TransmitInterval: 100, DetectMultiplier: 3}},
	}
}

// withPeers adds n neighbors (2001:db8:300::1..., nowhere on the LAN:
// their sessions stay down, as BGPPeers for routers not there yet) that
// get the same prefixes, and the extra prefixes.
func withPeers(base *frrconfig.Config, n int, extra ...int) *frrconfig.Config {
	cfg := *base
	r := base.Routers[0]
	r.IPv6Networks = append([]netip.Prefix(nil), r.IPv6Networks...)
	r.Neighbors = append([]frrconfig.Neighbor(nil), r.Neighbors...)
	first := r.Neighbors[0]
	first.Advertise = append([]frrconfig.Advertisement(nil), first.Advertise...)
	for _, i := range extra {
		r.IPv6Networks = append(r.IPv6Networks, prefix(i))
		first.Advertise = append(first.Advertise, frrconfig.Advertisement{Prefix: prefix(i)})
	}
	r.Neighbors[0] = first
	for i := range n {
		var b [16]byte
		copy(b[:], netip.MustParseAddr("2001:db8:300::").AsSlice())
		b[14], b[15] = byte((i+1)>>8), byte(i+1)
		r.Neighbors = append(r.Neighbors, frrconfig.Neighbor{Address: netip.AddrFrom16(b), RemoteAS: "64600",
			Families: []string{frrconfig.FamilyIPv6}, Advertise: first.Advertise})
	}
	cfg.Routers = []frrconfig.Router{r}
	return &cfg
}

// runPeers prints one row per batch size and stage size (0: the n
// neighbors in one apply, as before the speaker staged them).
func runPeers(ctx context.Context, n int, batches, stages string) error {
	fmt.Println(peersHeader())
	for _, s := range strings.Split(batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b < 0 {
			return fmt.Errorf("-batch: %q is not a batch size", s)
		}
		for _, s := range strings.Split(stages, ",") {
			k, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || k < 0 {
				return fmt.Errorf("-stage: %q is not a number of neighbors", s)
			}
			var row string
			if k == 0 {
				row, err = measurePeers(ctx, n, b)
			} else {
				row, err = measureStaged(ctx, n, b, k)
			}
			if err != nil {
				return fmt.Errorf("batch %d, stage %d: %w", b, k, err)
			}
			fmt.Println(row)
		}
	}
	return nil
}

// peersRun is one -peers measurement's FRR pair and agent, with the base
// config applied and its BFD session up.
type peersRun struct {
	e     *env
	c     *client.Client
	base  *frrconfig.Config
	downs int
	cpu   time.Duration
	close func()
}

// startPeers sets up the router and the node, an agent with the batch size
// on the node, applies the base config and waits for its BFD session.
func startPeers(ctx context.Context, batch int) (_ *peersRun, err error) {
	r := &peersRun{base: peersBase()}
	var undo []func()
	r.close = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	e, err := setup(ctx, "", peersRouterConf)
	if err != nil {
		return nil, err
	}
	r.e = e
	undo = append(undo, e.close)
	dir, err := os.MkdirTemp("", "hxfrrapply")
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { os.RemoveAll(dir) })
	dryRun := vtysh.NewDryRun("vtysh", e.node.Name())
	undo = append(undo, func() { dryRun.Close() })
	agent, err := frragent.New(frragent.Options{
		Vtysh:      vtysh.Exec("vtysh", e.node.Name()),
		Reload:     frragent.FRRReload("/usr/lib/frr/frr-reload.py", "vtysh", e.node.Name(), frragent.TempDir(filepath.Join(dir, "frr.conf"))),
		ConfigPath: filepath.Join(dir, "frr.conf"),
		VtyDir:     frrproc.RunDir(e.node.Name()),
		DryRun:     dryRun.Check,
		BatchSize:  batch,
		Log:        logr.Discard(),
	})
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { agent.Close() })
	sock := filepath.Join(dir, "agent.sock")
	ln, err := frragent.Listen(sock)
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- agent.Serve(sctx, ln) }()
	undo = append(undo, func() { stop(); <-done })
	r.c = client.New(sock)

	if res, err := r.c.Apply(ctx, 1, r.base); err != nil || !res.Success {
		return nil, fmt.Errorf("base config: %+v %v", res, err)
	}
	if err := waitFor(ctx, 60*time.Second, func() bool { return bfdUp(ctx, e.router) }); err != nil {
		return nil, fmt.Errorf("waiting for the BFD session: %w", err)
	}
	if r.downs, err = bfdDownCount(ctx, e); err != nil {
		return nil, err
	}
	if r.cpu, err = bgpdCPU(e.node); err != nil {
		return nil, err
	}
	return r, nil
}

// finish waits for BFD counters to settle and returns the BFD downs and
// bgpd's CPU time since startPeers.
func (r *peersRun) finish(ctx context.Context) (int, time.Duration, error) {
	time.Sleep(2 * time.Second) // a BFD session that went down shows in the counters
	downs, err := bfdDownCount(ctx, r.e)
	if err != nil {
		return 0, 0, err
	}
	cpu, err := bgpdCPU(r.e.node)
	if err != nil {
		return 0, 0, err
	}
	return downs - r.downs, cpu - r.cpu, nil
}

// removeAll applies the base config again (the n neighbors removed, in one
// apply) and returns how long that took.
func (r *peersRun) removeAll(ctx context.Context, gen int64) (time.Duration, error) {
	start := time.Now()
	res, err := r.c.Apply(ctx, gen, withPeers(r.base, 0, 1_000_000))
	if err != nil || !res.Success {
		return 0, fmt.Errorf("removing the neighbors: %+v %v", res, err)
	}
	return time.Since(start), nil
}

// measurePeers applies the base config, waits for its BFD session, then
// applies the config with n more neighbors; one second into that apply it
// sends the same config with one more Service prefix (as the speaker's
// next apply would be) and times the prefix's arrival at the router. Then
// it removes the n neighbors in one apply. BFD downs are the router's and
// the node's counters over the whole run.
func measurePeers(ctx context.Context, n, batch int) (string, error) {
	r, err := startPeers(ctx, batch)
	if err != nil {
		return "", err
	}
	defer r.close()
	base, c := r.base, r.c
	start := time.Now()
	big := withPeers(base, n)
	type outcome struct {
		res frragent.Result
		err error
	}
	bigDone := make(chan outcome, 1)
	go func() {
		res, err := c.Apply(ctx, 2, big)
		bigDone <- outcome{res, err}
	}()
	time.Sleep(time.Second)
	svc := prefix(1_000_000)
	svcDone := make(chan outcome, 1)
	sent := time.Now()
	go func() {
		res, err := c.Apply(ctx, 3, withPeers(base, n, 1_000_000))
		svcDone <- outcome{res, err}
	}()
	if err := waitFor(ctx, 30*time.Minute, func() bool { return routerHas(ctx, r.e.router, svc) }); err != nil {
		return "", fmt.Errorf("waiting for the Service prefix at the router: %w", err)
	}
	svcAt := time.Since(sent)
	bo := <-bigDone
	if bo.err != nil || !bo.res.Success {
		return "", fmt.Errorf("the %d-peer apply: %+v %v", n, bo.res, bo.err)
	}
	if so := <-svcDone; so.err != nil || !so.res.Success {
		return "", fmt.Errorf("the Service apply: %+v %v", so.res, so.err)
	}
	all := time.Since(start)
	fmt.Fprintf(os.Stderr, "peers %d, batch %d: the big apply's phases: %s\n", n, batch, phases(bo.res))
	removed, err := r.removeAll(ctx, 4)
	if err != nil {
		return "", err
	}
	downs, cpu, err := r.finish(ctx)
	if err != nil {
		return "", err
	}
	return peersRow(n, batch, "-", 1, bo.res.Commands, all, svcAt, removed, downs, cpu), nil
}

// measureStaged is measurePeers with the n neighbors added in steps of
// stage (frrconfig.StageNeighbors), as the speaker does: each step is
// planned from the last one applied and the latest plan, and the Service
// prefix, planned one second in, goes with the next step.
func measureStaged(ctx context.Context, n, batch, stage int) (string, error) {
	r, err := startPeers(ctx, batch)
	if err != nil {
		return "", err
	}
	defer r.close()
	svc := prefix(1_000_000)
	start := time.Now()
	planned := withPeers(r.base, n)
	withSvc := withPeers(r.base, n, 1_000_000)
	svcAt := make(chan time.Duration, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		time.Sleep(time.Second)
		sent := time.Now()
		if waitFor(wctx, 30*time.Minute, func() bool { return routerHas(wctx, r.e.router, svc) }) == nil {
			svcAt <- time.Since(sent)
		}
	}()
	applied := r.base
	steps, commands := 0, 0
	for gen := int64(2); ; gen++ {
		if time.Since(start) >= time.Second {
			planned = withSvc // the Service came: the next step plans it
		}
		step, st := frrconfig.StageNeighbors(r.base, applied, planned, stage)
		res, err := r.c.Apply(ctx, gen, &step)
		if err != nil || !res.Success {
			return "", fmt.Errorf("step %d: %+v %v", steps+1, res, err)
		}
		steps++
		commands += res.Commands
		fmt.Fprintf(os.Stderr, "peers %d, batch %d, stage %d: step %d added %d neighbors (%d to go) in %v, %d commands: %s\n",
			n, batch, stage, steps, st.Added, st.Deferred, res.Duration.Round(time.Millisecond), res.Commands, phases(res))
		applied = &step
		if st.Deferred == 0 && planned == withSvc {
			break
		}
	}
	all := time.Since(start)
	var svcTook time.Duration
	select {
	case svcTook = <-svcAt:
	case <-time.After(time.Minute):
		return "", fmt.Errorf("the Service prefix did not reach the router a minute after the last step")
	}
	removed, err := r.removeAll(ctx, 1_000_000)
	if err != nil {
		return "", err
	}
	downs, cpu, err := r.finish(ctx)
	if err != nil {
		return "", err
	}
	return peersRow(n, batch, strconv.Itoa(stage), steps, commands, all, svcTook, removed, downs, cpu), nil
}

// phases lists an apply's phases.
func phases(res frragent.Result) string {
	var ph []string
	for _, k := range []string{"render", "diff", "check", "apply", "verify", "write", "reload"} {
		if d, ok := res.Phases[k]; ok {
			ph = append(ph, fmt.Sprintf("%s %v", k, d.Round(time.Millisecond)))
		}
	}
	return strings.Join(ph, ", ")
}

// peersHeader is the -peers table's header; peersRow one row.
func peersHeader() string {
	return fmt.Sprintf("%-6s %-8s %-6s %-6s %-9s %-12s %-22s %-12s %-10s %s", "peers", "batch", "stage", "steps", "commands",
		"all applied", "Service prefix at router", "remove all", "BFD downs", "bgpd CPU")
}

func peersRow(n, batch int, stage string, steps, commands int, all, svc, removed time.Duration, downs int, cpu time.Duration) string {
	label := strconv.Itoa(batch)
	if batch == 0 {
		label = strconv.Itoa(frragent.DefaultBatchSize)
	}
	return fmt.Sprintf("%-6d %-8s %-6s %-6d %-9d %-12s %-22s %-12s %-10d %s", n, label, stage, steps, commands,
		all.Round(time.Millisecond), svc.Round(time.Millisecond).String()+" after sent", removed.Round(time.Millisecond), downs,
		cpu.Round(time.Millisecond))
}

func waitFor(ctx context.Context, limit time.Duration, ok func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func bfdUp(ctx context.Context, inst *frrproc.Instance) bool {
	out, err := inst.Vtysh(ctx, "-c", "show bfd peers json")
	if err != nil {
		return false
	}
	var peers []struct {
		Status string `json:"status"`
	}
	return json.Unmarshal([]byte(out), &peers) == nil && len(peers) > 0 && peers[0].Status == "up"
}

// bfdDownCount adds the router's and the node's BFD session-down counters.
func bfdDownCount(ctx context.Context, e *env) (int, error) {
	total := 0
	for _, inst := range []*frrproc.Instance{e.router, e.node} {
		out, err := inst.Vtysh(ctx, "-c", "show bfd peers counters json")
		if err != nil {
			return 0, err
		}
		var peers []struct {
			Down int `json:"session-down"`
		}
		if err := json.Unmarshal([]byte(out), &peers); err != nil {
			return 0, fmt.Errorf("decoding %q: %w", out, err)
		}
		for _, p := range peers {
			total += p.Down
		}
	}
	return total, nil
}

func routerHas(ctx context.Context, router *frrproc.Instance, p netip.Prefix) bool {
	out, err := router.Vtysh(ctx, "-c", "show bgp ipv6 unicast "+p.String()+" json")
	return err == nil && strings.Contains(out, `"paths"`)
}

// bgpdCPU is the CPU time (user and system) bgpd has used.
func bgpdCPU(inst *frrproc.Instance) (time.Duration, error) {
	pid, err := inst.DaemonPID("bgpd")
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil // USER_HZ 100
}
