// Command frrapply measures how fast herald's frr-agent applies a one-prefix
// change to a real FRR that already advertises N prefixes to 2 peers, and
// how long FRR's own frr-reload.py --reload takes for the same change. It
// builds two network namespaces (a node FRR driven by the agent, a router
// FRR with both peers), runs, prints a table and removes everything.
//
//	go run ./e2e/bench/frrapply -sizes 1000,5000,20000 -changes 50 -reloads 10
//
// With -peers N it measures instead one apply adding N BGP neighbors to a
// node with a BFD session to the router, for each agent batch size of
// -batch: how long the apply takes, when a Service prefix sent meanwhile
// reaches the router, and how often BFD went down (see peers.go).
//
//	go run ./e2e/bench/frrapply -peers 1000 -batch 0,100000
//
// With -stage K it adds the N neighbors in steps of K as the speaker does
// (frrconfig.StageNeighbors), the Service prefix going with the next step;
// -stage 0 is one apply. Each row also times removing the N neighbors in
// one apply.
//
//	go run ./e2e/bench/frrapply -peers 300 -batch 0 -stage 0,50
//
// It needs root and FRR (Debian's frr and frr-pythontools). The prefixes
// are /128s from 2001:db8:200::/64: documentation space holds only 768
// IPv4 addresses.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/client"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/frrproc"
)

func main() {
	sizes := flag.String("sizes", "1000,5000,20000", "numbers of prefixes already advertised, comma-separated")
	changes := flag.Int("changes", 50, "one-prefix additions (and as many removals) applied by the agent per size")
	reloads := flag.Int("reloads", 10, "one-prefix additions (and removals) applied by frr-reload.py per size")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (agent and client) to this file")
	peers := flag.Int("peers", 0, "instead of the prefix table: add this many BGP neighbors in one apply to a node with a BFD session, and measure that apply, a Service prefix sent meanwhile and BFD (see peers.go)")
	batches := flag.String("batch", "0,100000", "with -peers: the agent's BatchSize values to compare, comma-separated (0: the default, 100000: one batch)")
	stages := flag.String("stage", "0", "with -peers: the neighbors added per apply to compare, comma-separated (0: all in one apply; the speaker's default is frrconfig.DefaultStageNeighbors)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "frrapply: -cpuprofile: %v\n", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "frrapply: -cpuprofile: %v\n", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 60000 {
			fmt.Fprintf(os.Stderr, "frrapply: -sizes: %q is not a number of prefixes in 1-60000\n", s)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	if *peers > 0 {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := runPeers(ctx, *peers, *batches, *stages); err != nil {
			fmt.Fprintf(os.Stderr, "frrapply: -peers %d: %v\n", *peers, err)
			os.Exit(1)
		}
		return
	}
	fmt.Printf("%-7s %-9s %-18s %-18s %-18s %-18s %-10s %-9s\n", "N", "load", "agent add p50/p99", "agent del p50/p99", "reload add p50/p99", "reload del p50/p99", "speedup", "methods")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, n := range ns {
		row, err := measure(ctx, n, *changes, *reloads)
		if err != nil {
			fmt.Fprintf(os.Stderr, "frrapply: N=%d: %v\n", n, err)
			os.Exit(1)
		}
		fmt.Println(row)
	}
}

// prefix returns the i-th benchmark prefix.
func prefix(i int) netip.Prefix {
	var b [16]byte
	copy(b[:], netip.MustParseAddr("2001:db8:200::").AsSlice())
	b[12], b[13], b[14], b[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return netip.PrefixFrom(netip.AddrFrom16(b), 128)
}

var (
	peer1 = netip.MustParseAddr("2001:db8:100::1")
	peer2 = netip.MustParseAddr("2001:db8:100::2")
)

// config advertises prefixes 0..n-1 plus extra to both peers, every prefix
// with a community (so each has a route-map entry's attributes).
func config(n int, extra []int) *frrconfig.Config {
	r := frrconfig.Router{ASN: 64512, RouterID: netip.MustParseAddr("198.51.100.11")}
	var adv []frrconfig.Advertisement
	add := func(i int) {
		p := prefix(i)
		r.IPv6Networks = append(r.IPv6Networks, p)
		adv = append(adv, frrconfig.Advertisement{Prefix: p, Communities: []string{"64512:100"}})
	}
	for i := range n {
		add(i)
	}
	for _, i := range extra {
		add(i)
	}
	r.Neighbors = []frrconfig.Neighbor{
		{Address: peer1, RemoteAS: "64500", UpdateSource: "2001:db8:100::11", Advertise: adv},
		{Address: peer2, RemoteAS: "64500", UpdateSource: "2001:db8:100::12", Advertise: slices.Clone(adv)},
	}
	return &frrconfig.Config{Routers: []frrconfig.Router{r}}
}

const routerConf = `frr defaults traditional
hostname router
!
router bgp 64500
 bgp router-id 198.51.100.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 2001:db8:100::11 remote-as 64512
 neighbor 2001:db8:100::11 update-source 2001:db8:100::1
 neighbor 2001:db8:100::12 remote-as 64512
 neighbor 2001:db8:100::12 update-source 2001:db8:100::2
 address-family ipv6 unicast
  neighbor 2001:db8:100::11 activate
  neighbor 2001:db8:100::12 activate
 exit-address-family
exit
!
`

type env struct {
	node, router *frrproc.Instance
	cleanup      []func()
}

func (e *env) close() {
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
}

func sh(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %w: %s", args, err, out)
	}
	return nil
}

func setup(ctx context.Context, nodeConf, routerConf string) (*env, error) {
	e := &env{}
	id := rand.N(1_000_000)
	nodeNS, routerNS := fmt.Sprintf("hxbn%d", id), fmt.Sprintf("hxbr%d", id)
	for _, n := range []string{nodeNS, routerNS} {
		if err := sh("ip", "netns", "add", n); err != nil {
			e.close()
			return nil, err
		}
		e.cleanup = append(e.cleanup, func() { _ = sh("ip", "netns", "del", n) })
	}
	a, b := fmt.Sprintf("hxba%d", id), fmt.Sprintf("hxbb%d", id)
	cmds := [][]string{
		{"ip", "-n", nodeNS, "link", "set", "lo", "up"},
		{"ip", "-n", routerNS, "link", "set", "lo", "up"},
		{"ip", "link", "add", a, "netns", nodeNS, "type", "veth", "peer", "name", b, "netns", routerNS},
		{"ip", "-n", nodeNS, "addr", "add", "2001:db8:100::11/64", "dev", a, "nodad"},
		{"ip", "-n", nodeNS, "addr", "add", "2001:db8:100::12/64", "dev", a, "nodad"},
		{"ip", "-n", routerNS, "addr", "add", "2001:db8:100::1/64", "dev", b, "nodad"},
		{"ip", "-n", routerNS, "addr", "add", "2001:db8:100::2/64", "dev", b, "nodad"},
		{"ip", "-n", nodeNS, "link", "set", a, "up"},
		{"ip", "-n", routerNS, "link", "set", b, "up"},
	}
	for _, c := range cmds {
		if err := sh(c...); err != nil {
			e.close()
			return nil, err
		}
	}
	var err error
	if e.router, err = frrproc.Start(ctx, frrproc.Options{Name: routerNS, Netns: routerNS, Config: routerConf}); err != nil {
		e.close()
		return nil, err
	}
	e.cleanup = append(e.cleanup, func() { _ = e.router.Stop(context.Background()) })
	if e.node, err = frrproc.Start(ctx, frrproc.Options{Name: nodeNS, Netns: nodeNS, Config: nodeConf, StartTimeout: 60 * time.Minute}); err != nil {
		e.close()
		return nil, err
	}
	e.cleanup = append(e.cleanup, func() { _ = e.node.Stop(context.Background()) })
	return e, nil
}

func measure(ctx context.Context, n, changes, reloads int) (string, error) {
	base := config(n, nil)
	rendered, err := frrconfig.Render(base)
	if err != nil {
		return "", err
	}
	start := time.Now()
	e, err := setup(ctx, string(rendered), routerConf)
	if err != nil {
		return "", err
	}
	defer e.close()
	load := time.Since(start)

	dir, err := os.MkdirTemp("", "hxfrrapply")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	reloadScript := "/usr/lib/frr/frr-reload.py"
	dryRun := vtysh.NewDryRun("vtysh", e.node.Name())
	defer dryRun.Close()
	agent, err := frragent.New(frragent.Options{
		Vtysh:      vtysh.Exec("vtysh", e.node.Name()),
		Reload:     frragent.FRRReload(reloadScript, "vtysh", e.node.Name(), dir),
		ConfigPath: filepath.Join(dir, "frr.conf"),
		VtyDir:     frrproc.RunDir(e.node.Name()),
		DryRun:     dryRun.Check,
		Log: funcr.New(func(prefix, args string) {
			if strings.Contains(args, "reloading") || strings.Contains(args, "differs") {
				fmt.Fprintln(os.Stderr, prefix, args)
			}
		}, funcr.Options{}),
	})
	if err != nil {
		return "", err
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := frragent.Listen(sock)
	if err != nil {
		return "", err
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- agent.Serve(sctx, ln) }()
	defer func() { stop(); <-done }()
	c := client.New(sock)

	gen := int64(1)
	res, err := c.Apply(ctx, gen, base)
	if err != nil || !res.Success {
		return "", fmt.Errorf("adopting the base config: %+v %v", res, err)
	}
	methods := map[frragent.Method]int{}
	phases := map[string]time.Duration{}
	var adds, dels []time.Duration
	for i := range changes {
		for _, cfg := range []*frrconfig.Config{config(n, []int{n + i}), base} {
			gen++
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			res, err := c.Apply(ctx, gen, cfg)
			if err != nil || !res.Success {
				return "", fmt.Errorf("agent apply %d: %+v %v", gen, res, err)
			}
			methods[res.Method]++
			for k, v := range res.Phases {
				phases[k] += v
			}
			if cfg == base {
				dels = append(dels, res.Duration)
			} else {
				adds = append(adds, res.Duration)
			}
		}
	}

	// frr-reload.py for the same changes, from the same base.
	reload := func(cfg *frrconfig.Config) (time.Duration, error) {
		text, err := frrconfig.Render(cfg)
		if err != nil {
			return 0, err
		}
		f := filepath.Join(dir, "candidate.conf")
		if err := os.WriteFile(f, text, 0o600); err != nil {
			return 0, err
		}
		t0 := time.Now()
		out, err := exec.Command(reloadScript, "--reload", "--stdout", "--pathspace", e.node.Name(), f).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("frr-reload.py: %w: %s", err, out)
		}
		return time.Since(t0), nil
	}
	var radds, rdels []time.Duration
	for i := range reloads {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		d, err := reload(config(n, []int{n + 1000 + i}))
		if err != nil {
			return "", err
		}
		radds = append(radds, d)
		if d, err = reload(base); err != nil {
			return "", err
		}
		rdels = append(rdels, d)
	}
	var ph []string
	for _, k := range []string{"render", "diff", "check", "apply", "verify", "write"} {
		ph = append(ph, fmt.Sprintf("%s %.1f", k, float64(phases[k].Microseconds())/1000/float64(2*changes)))
	}
	fmt.Fprintf(os.Stderr, "N=%d mean ms per agent apply: %s\n", n, strings.Join(ph, ", "))
	speedup := float64(pct(radds, 50)+pct(rdels, 50)) / float64(pct(adds, 50)+pct(dels, 50))
	return fmt.Sprintf("%-7d %-9s %-18s %-18s %-18s %-18s %-10s %v", n, load.Round(time.Second),
		pp(adds), pp(dels), pp(radds), pp(rdels), fmt.Sprintf("%.0fx", speedup), methods), nil
}

// pct returns the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

func pp(ds []time.Duration) string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) }
	return ms(pct(ds, 50)) + "/" + ms(pct(ds, 99)) + " ms"
}
