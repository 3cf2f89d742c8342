package frragent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/client"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
)

// lab is a node FRR driven by an in-process agent and a router FRR, each in
// a namespace of its own, joined by a veth pair:
// node 198.51.100.11 / 2001:db8:100::11, router .1 / ::1, both in AS 64500.
type lab struct {
	node, router *frrproc.Instance
	agent        *frragent.Agent
	client       *client.Client
	sock         string // the agent's socket
	reg          *prometheus.Registry
}

const routerConf = `frr defaults traditional
hostname router
!
router bgp 64500
 bgp router-id 198.51.100.1
 neighbor 198.51.100.11 remote-as 64500
 neighbor 198.51.100.11 bfd
 neighbor 2001:db8:100::11 remote-as 64500
 address-family ipv4 unicast
  no neighbor 2001:db8:100::11 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor 2001:db8:100::11 activate
 exit-address-family
exit
!
`

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
}

// newLab starts the lab; with, when given, changes the agent's options.
func newLab(t *testing.T, with ...func(*frragent.Options)) *lab {
	t.Helper()
	testenv.RequireFRR(t)
	id := rand.N(1_000_000)
	nodeNS, routerNS := fmt.Sprintf("hxan%d", id), fmt.Sprintf("hxar%d", id)
	for _, ns := range []string{nodeNS, routerNS} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "link", "add", "hxa"+fmt.Sprint(id), "netns", nodeNS, "type", "veth", "peer", "name", "hxb"+fmt.Sprint(id), "netns", routerNS)
	for _, a := range []struct{ ns, dev, v4, v6 string }{
		{nodeNS, "hxa" + fmt.Sprint(id), "198.51.100.11/24", "2001:db8:100::11/64"},
		{routerNS, "hxb" + fmt.Sprint(id), "198.51.100.1/24", "2001:db8:100::1/64"},
	} {
		run(t, "ip", "-n", a.ns, "addr", "add", a.v4, "dev", a.dev)
		run(t, "ip", "-n", a.ns, "addr", "add", a.v6, "dev", a.dev, "nodad")
		run(t, "ip", "-n", a.ns, "link", "set", a.dev, "up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func(name, config string) *frrproc.Instance {
		inst, err := frrproc.Start(ctx, frrproc.Options{Name: name, Netns: name, Config: config})
		if err != nil {
			t.Fatalf("starting FRR %s: %v", name, err)
		}
		t.Cleanup(func() {
			if err := inst.Stop(context.Background()); err != nil {
				t.Errorf("stopping FRR %s: %v", name, err)
			}
		})
		return inst
	}
	l := &lab{router: start(routerNS, routerConf), node: start(nodeNS, "")}
	l.reg = prometheus.NewRegistry()
	dir := t.TempDir()
	var err error
	opts := frragent.Options{
		Vtysh:         vtysh.Exec("vtysh", l.node.Name()),
		Reload:        frragent.FRRReload(filepath.Join(testenv.FRRDir, "frr-reload.py"), "vtysh", l.node.Name(), dir),
		ConfigPath:    filepath.Join(dir, "frr.conf"),
		VtyDir:        frrproc.RunDir(l.node.Name()),
		DryRun:        dryRun(t, l.node.Name()),
		CheckInterval: 500 * time.Millisecond,
		Registerer:    l.reg,
	}
	for _, w := range with {
		w(&opts)
	}
	l.agent, err = frragent.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := frragent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.agent.Serve(srvCtx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	l.client, l.sock = client.New(sock), sock
	return l
}

// route is what the router's RIB says about one prefix's best path.
type route struct {
	Communities      []string
	LargeCommunities []string
	LocalPref        uint32
}

// rib reads the router's table of one family ("ipv4" or "ipv6").
func (l *lab) rib(ctx context.Context, afi string) (map[string]route, error) {
	out, err := l.router.Vtysh(ctx, "-c", "show bgp "+afi+" unicast json")
	if err != nil {
		return nil, err
	}
	var table struct {
		Routes map[string]json.RawMessage `json:"routes"`
	}
	if err := json.Unmarshal([]byte(out), &table); err != nil {
		return nil, fmt.Errorf("parsing show bgp json: %w: %s", err, out)
	}
	got := map[string]route{}
	for prefix := range table.Routes {
		out, err := l.router.Vtysh(ctx, "-c", "show bgp "+afi+" unicast "+prefix+" json")
		if err != nil {
			return nil, err
		}
		var detail struct {
			Paths []struct {
				Community *struct {
					List []string `json:"list"`
				} `json:"community"`
				LargeCommunity *struct {
					List []string `json:"list"`
				} `json:"largeCommunity"`
				LocPrf   uint32 `json:"locPrf"`
				Bestpath *struct {
					Overall bool `json:"overall"`
				} `json:"bestpath"`
			} `json:"paths"`
		}
		if err := json.Unmarshal([]byte(out), &detail); err != nil {
			return nil, fmt.Errorf("parsing show bgp %s json: %w", prefix, err)
		}
		for _, p := range detail.Paths {
			if p.Bestpath == nil || !p.Bestpath.Overall {
				continue
			}
			r := route{LocalPref: p.LocPrf}
			if p.Community != nil {
				r.Communities = p.Community.List
			}
			if p.LargeCommunity != nil {
				r.LargeCommunities = p.LargeCommunity.List
			}
			got[prefix] = r
		}
	}
	return got, nil
}

// waitRIB waits until the router's table of afi is want.
func (l *lab) waitRIB(t *testing.T, afi string, want map[string]route) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got map[string]route
	var err error
	for {
		var g map[string]route
		g, err = l.rib(ctx, afi)
		if err == nil {
			got = g
			if cmp.Equal(want, got) {
				return
			}
		}
		select {
		case <-ctx.Done():
			for _, inst := range []*frrproc.Instance{l.router, l.node} {
				out, _ := inst.Vtysh(context.Background(), "-c", "show bgp summary", "-c", "show bfd peers brief")
				t.Logf("%s:\n%s", inst.Name(), out)
			}
			t.Fatalf("the router's %s table is not the expected one after 60s (err %v) (-want +got):\n%s", afi, err, cmp.Diff(want, got))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkRunning checks that the node's FRR runs exactly Render(cfg), within
// a few seconds: a neighbor's BFD lines reach FRR once its session is up.
func (l *lab) checkRunning(t *testing.T, cfg *frrconfig.Config) {
	t.Helper()
	rendered, err := frrconfig.Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := l.node.Vtysh(context.Background(), "-c", "show running-config")
		if err != nil {
			t.Fatal(err)
		}
		diff := cmp.Diff(frrconfig.Normalize(rendered), frrconfig.Normalize([]byte(out)))
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("the node's running config differs from the rendered file after 30s (-rendered +running):\n%s", diff)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bfdDowns counts the times a BFD session went down, on the node and on
// the router, as each FRR counts them.
func (l *lab) bfdDowns(t *testing.T) int {
	t.Helper()
	n := 0
	for _, inst := range []*frrproc.Instance{l.node, l.router} {
		out, err := inst.Vtysh(context.Background(), "-c", "show bfd peers counters json")
		if err != nil {
			t.Fatal(err)
		}
		var peers []struct {
			Down int `json:"session-down"`
		}
		if err := json.Unmarshal([]byte(out), &peers); err != nil {
			t.Fatalf("decoding %q: %v", out, err)
		}
		for _, p := range peers {
			n += p.Down
		}
	}
	return n
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func u32(v uint32) *uint32      { return &v }

var (
	n1 = netip.MustParseAddr("198.51.100.1")
	n2 = netip.MustParseAddr("2001:db8:100::1")
)

// nodeConfig is the node's model: iBGP to the router over IPv4 (with BFD)
// and, when v6 holds advertisements, over IPv6.
func nodeConfig(v4 []frrconfig.Advertisement, v6 []frrconfig.Advertisement, bfdRx uint32) *frrconfig.Config {
	r := frrconfig.Router{ASN: 64500, RouterID: netip.MustParseAddr("198.51.100.11")}
	for _, a := range v4 {
		r.IPv4Networks = append(r.IPv4Networks, a.Prefix)
	}
	r.Neighbors = append(r.Neighbors, frrconfig.Neighbor{Address: n1, RemoteAS: "internal", BFD: true, BFDProfile: "fast", Advertise: v4})
	if v6 != nil {
		for _, a := range v6 {
			r.IPv6Networks = append(r.IPv6Networks, a.Prefix)
		}
		r.Neighbors = append(r.Neighbors, frrconfig.Neighbor{Address: n2, RemoteAS: "internal", Advertise: v6})
	}
	return &frrconfig.Config{
		Routers:     []frrconfig.Router{r},
		BFDProfiles: []frrconfig.BFDProfile{{Name: "fast", ReceiveInterval: bfdRx, TransmitInterval: bfdRx, DetectMultiplier: 3}},
	}
}

// TestAgentOnFRR drives a real FRR through the agent's socket with a
// sequence of configs and checks, after each, the router's RIB and the
// node's running config; then a config FRR rejects, and a bgpd crash.
func TestAgentOnFRR(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()

	// Health, as the speaker's readiness asks it: the four daemons of
	// herald's FRR image answer on their vty sockets.
	h, err := l.client.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Daemons) != 4 || len(h.Down()) > 0 {
		t.Errorf("Health = %+v, want zebra, bgpd, bfdd and staticd up", h.Daemons)
	}

	steps := []struct {
		name       string
		cfg        *frrconfig.Config
		wantMethod frragent.Method
		want4      map[string]route
		want6      map[string]route
		bfdRx      uint32
	}{
		{
			name: "first config: two prefixes, one with a community",
			cfg: nodeConfig([]frrconfig.Advertisement{
				{Prefix: pfx("192.0.2.10/32"), Communities: []string{"64500:10"}},
				{Prefix: pfx("192.0.2.11/32")},
			}, nil, 200),
			wantMethod: frragent.MethodReload,
			want4: map[string]route{
				"192.0.2.10/32": {Communities: []string{"64500:10"}, LocalPref: 100},
				"192.0.2.11/32": {LocalPref: 100},
			},
			want6: map[string]route{},
			bfdRx: 200,
		},
		{
			name: "add a prefix with a large community and local-pref",
			cfg: nodeConfig([]frrconfig.Advertisement{
				{Prefix: pfx("192.0.2.10/32"), Communities: []string{"64500:10"}},
				{Prefix: pfx("192.0.2.11/32")},
				{Prefix: pfx("192.0.2.12/32"), LargeCommunities: []string{"64500:1:2"}, LocalPref: u32(200)},
			}, nil, 200),
			wantMethod: frragent.MethodIncremental,
			want4: map[string]route{
				"192.0.2.10/32": {Communities: []string{"64500:10"}, LocalPref: 100},
				"192.0.2.11/32": {LocalPref: 100},
				"192.0.2.12/32": {LargeCommunities: []string{"64500:1:2"}, LocalPref: 200},
			},
			want6: map[string]route{},
			bfdRx: 200,
		},
		{
			name: "remove a prefix",
			cfg: nodeConfig([]frrconfig.Advertisement{
				{Prefix: pfx("192.0.2.10/32"), Communities: []string{"64500:10"}},
				{Prefix: pfx("192.0.2.12/32"), LargeCommunities: []string{"64500:1:2"}, LocalPref: u32(200)},
			}, nil, 200),
			wantMethod: frragent.MethodIncremental,
			want4: map[string]route{
				"192.0.2.10/32": {Communities: []string{"64500:10"}, LocalPref: 100},
				"192.0.2.12/32": {LargeCommunities: []string{"64500:1:2"}, LocalPref: 200},
			},
			want6: map[string]route{},
			bfdRx: 200,
		},
		{
			name: "change communities (standard and large) and local-pref",
			cfg: nodeConfig([]frrconfig.Advertisement{
				{Prefix: pfx("192.0.2.10/32"), Communities: []string{"64500:20", "64500:30"}, LargeCommunities: []string{"64500:2:3"}},
				{Prefix: pfx("192.0.2.12/32"), LargeCommunities: []string{"64500:1:2"}, LocalPref: u32(300)},
			}, nil, 200),
			wantMethod: frragent.MethodIncremental,
			want4: map[string]route{
				"192.0.2.10/32": {Communities: []string{"64500:20", "64500:30"}, LargeCommunities: []string{"64500:2:3"}, LocalPref: 100},
				"192.0.2.12/32": {LargeCommunities: []string{"64500:1:2"}, LocalPref: 300},
			},
			want6: map[string]route{},
			bfdRx: 200,
		},
		{
			name: "add an IPv6 neighbor with a prefix",
			cfg: nodeConfig([]frrconfig.Advertisement{
				{Prefix: pfx("192.0.2.10/32"), Communities: []string{"64500:20", "64500:30"}, LargeCommunities: []string{"64500:2:3"}},
				{Prefix: pfx("192.0.2.12/32"), LargeCommunities: []string{"64500:1:2"}, LocalPref: u32(300)},
			}, []frrconfig.Advertisement{{Prefix: pfx("2001:db8:200::10/128"), Communities: []string{"64500:60"}}}, 200),
			wantMethod: frragent.MethodIncremental,
			want4: map[string]route{
				"192.0.2.10/32": {Communities: []string{"64500:20", "64500:30"}, LargeCommunities: []string{"64500:2:3"}, LocalPref: 100},
				"192.0.2.12/32": {LargeCommunities: []string{"64500:1:2"}, LocalPref: 300},
			},
			want6: map[string]route{"2001:db8:200::10/128": {Communities: []string{"64500:60"}, LocalPref: 100}},
			bfdRx: 200,
		},
		{
			name: "change the BFD profile",
			cfg: nodeConfig([]frrconfig.Advertisement{
				{Prefix: pfx("192.0.2.10/32"), Communities: []string{"64500:20", "64500:30"}, LargeCommunities: []string{"64500:2:3"}},
				{Prefix: pfx("192.0.2.12/32"), LargeCommunities: []string{"64500:1:2"}, LocalPref: u32(300)},
			}, []frrconfig.Advertisement{{Prefix: pfx("2001:db8:200::10/128"), Communities: []string{"64500:60"}}}, 250),
			wantMethod: frragent.MethodIncremental,
			want4: map[string]route{
				"192.0.2.10/32": {Communities: []string{"64500:20", "64500:30"}, LargeCommunities: []string{"64500:2:3"}, LocalPref: 100},
				"192.0.2.12/32": {LargeCommunities: []string{"64500:1:2"}, LocalPref: 300},
			},
			want6: map[string]route{"2001:db8:200::10/128": {Communities: []string{"64500:60"}, LocalPref: 100}},
			bfdRx: 250,
		},
		{
			name: "remove the IPv6 neighbor",
			cfg: nodeConfig([]frrconfig.Advertisement{
				{Prefix: pfx("192.0.2.10/32"), Communities: []string{"64500:20", "64500:30"}, LargeCommunities: []string{"64500:2:3"}},
				{Prefix: pfx("192.0.2.12/32"), LargeCommunities: []string{"64500:1:2"}, LocalPref: u32(300)},
			}, nil, 250),
			wantMethod: frragent.MethodIncremental,
			want4: map[string]route{
				"192.0.2.10/32": {Communities: []string{"64500:20", "64500:30"}, LargeCommunities: []string{"64500:2:3"}, LocalPref: 100},
				"192.0.2.12/32": {LargeCommunities: []string{"64500:1:2"}, LocalPref: 300},
			},
			want6: map[string]route{},
			bfdRx: 250,
		},
	}
	var gen int64
	var last *frrconfig.Config
	for _, st := range steps {
		gen++
		t.Logf("generation %d: %s", gen, st.name)
		res, err := l.client.Apply(ctx, gen, st.cfg)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !res.Success || res.Method != st.wantMethod || res.Generation != gen {
			t.Fatalf("%s: result %+v, want success by %s, generation %d", st.name, res, st.wantMethod, gen)
		}
		t.Logf("%s: %s in %v (%d commands; BFD waiting for the first session of %v)", st.name, res.Method, res.Duration, res.Commands, res.BFDPending)
		l.checkRunning(t, st.cfg)
		l.waitRIB(t, "ipv4", st.want4)
		l.waitRIB(t, "ipv6", st.want6)
		l.waitBFD(t, st.bfdRx)
		last = st.cfg
	}
	// FRR remakes a BFD session configured before its BGP session first
	// opens, which takes both down: the agent's wait must have avoided it.
	if n := l.bfdDowns(t); n != 0 {
		t.Errorf("BFD sessions went down %d time(s) while the sessions came up and the config changed; want 0", n)
	}

	// The same config again changes nothing.
	res, err := l.client.Apply(ctx, gen, last)
	if err != nil || !res.Success || res.Method != frragent.MethodNone {
		t.Fatalf("re-applying the same config: %+v, %v; want success by none", res, err)
	}

	// The agent's state: sessions, advertised prefixes.
	state, err := l.client.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if state.Generation != gen || len(state.Sessions) != 1 || !state.Sessions[0].Established || state.Sessions[0].PrefixesSent != 2 {
		t.Errorf("state: generation %d, sessions %+v; want generation %d and one established session sending 2 prefixes", state.Generation, state.Sessions, gen)
	}
	var adv []string
	for _, nr := range state.Advertised {
		for _, r := range nr.Routes {
			adv = append(adv, nr.Neighbor+" "+r.Prefix.String())
		}
	}
	if diff := cmp.Diff([]string{"198.51.100.1 192.0.2.10/32", "198.51.100.1 192.0.2.12/32"}, adv); diff != "" {
		t.Errorf("advertised prefixes in state (-want +got):\n%s", diff)
	}

	// A config FRR rejects: the previous one keeps running and the answer
	// names the line.
	good, err := frrconfig.Render(last)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\n")
	at := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, " neighbor 198.51.100.1 remote-as") }) + 1
	bad := strings.Join(slices.Insert(slices.Clone(lines), at, " neighbor 198.51.100.1 bogus-keyword 7"), "\n")
	res, err = l.client.ApplyRendered(ctx, gen+1, bad)
	if err != nil {
		t.Fatal(err)
	}
	wantRejected := []vtysh.RejectedLine{{Line: at + 1, Text: "neighbor 198.51.100.1 bogus-keyword 7", Error: "% Unknown command"}}
	if res.Success || res.Generation != gen+1 || !cmp.Equal(wantRejected, res.Rejected) {
		t.Errorf("rejected config: result %+v; want failure with rejected %+v", res, wantRejected)
	}
	l.checkRunning(t, last)
	t.Log("rejected config: checking the router's table")
	l.waitRIB(t, "ipv4", steps[len(steps)-1].want4)
	if got := testutil.ToFloat64(mustCounter(t, l.reg, "rejected", "reload")); got != 1 {
		t.Errorf("herald_frr_apply_total{result=rejected,method=reload} = %v, want 1", got)
	}

	// bgpd crashes and watchfrr restarts it without herald's config (the
	// FRR container's own frr.conf does not hold it): the agent re-applies.
	if err := os.WriteFile(l.node.ConfigPath(), []byte("frr defaults traditional\n!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reloadsBefore := testutil.ToFloat64(mustCounter(t, l.reg, "success", "reload"))
	old, err := l.node.KillDaemon("bgpd")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := l.node.WaitDaemon(wctx, "bgpd", old); err != nil {
		t.Fatal(err)
	}
	for testutil.ToFloat64(mustCounter(t, l.reg, "success", "reload")) == reloadsBefore {
		if wctx.Err() != nil {
			t.Fatalf("the agent did not re-apply its config within 60s of bgpd's restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
	state, err = l.client.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if state.LastApply == nil || !state.LastApply.Success || state.LastApply.Method != frragent.MethodReload || state.LastApply.Generation != gen {
		t.Errorf("after bgpd's restart the last apply is %+v, want a successful reload of generation %d", state.LastApply, gen)
	}
	l.checkRunning(t, last)
	t.Log("bgpd restarted: checking the router's table")
	l.waitRIB(t, "ipv4", steps[len(steps)-1].want4)
	l.waitBFD(t, steps[len(steps)-1].bfdRx)
}

// waitBFD waits until the node's BFD session with the router is up with
// the profile's intervals.
func (l *lab) waitBFD(t *testing.T, rx uint32) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var peers []vtysh.BFDPeer
	for time.Now().Before(deadline) {
		st, err := l.client.State(context.Background())
		if err == nil {
			peers = st.BFDPeers
			if len(peers) == 1 && peers[0].Up && peers[0].Configured.Receive == rx && peers[0].Configured.Transmit == rx && peers[0].Configured.DetectMultiplier == 3 {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("BFD with the router is not up with %d ms intervals after 60s: %+v", rx, peers)
}

func mustCounter(t *testing.T, reg *prometheus.Registry, result, method string) prometheus.Collector {
	t.Helper()
	return counterOf{reg: reg, result: result, method: method}
}

// counterOf exposes one series of herald_frr_apply_total from a registry
// as a collector for testutil.ToFloat64.
type counterOf struct {
	reg            *prometheus.Registry
	result, method string
}

func (c counterOf) Describe(ch chan<- *prometheus.Desc) {}

func (c counterOf) Collect(ch chan<- prometheus.Metric) {
	families, err := c.reg.Gather()
	if err != nil {
		return
	}
	for _, f := range families {
		if f.GetName() != "herald_frr_apply_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["result"] == c.result && labels["method"] == c.method {
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("herald_frr_apply_total", "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
				return
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("herald_frr_apply_total", "", nil, nil), prometheus.CounterValue, 0)
}

// dryRun is FRR's dry run for the pathspace, closed when the test ends.
func dryRun(t *testing.T, pathspace string) func(context.Context, []byte) (string, error) {
	d := vtysh.NewDryRun("vtysh", pathspace)
	t.Cleanup(func() { d.Close() })
	return d.Check
}

// TestAgentRemovesLastBFDProfile applies a config with a BFD profile, then
// the same without BFD: bfdd keeps printing an empty bfd node, which must
// not make the agent think FRR runs another config (the lab saw the agent
// reload every 10 s after its BGPPeers lost their BFD profile).
func TestAgentRemovesLastBFDProfile(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	with := nodeConfig([]frrconfig.Advertisement{{Prefix: pfx("192.0.2.10/32")}}, nil, 200)
	if res, err := l.client.Apply(ctx, 1, with); err != nil || !res.Success {
		t.Fatalf("applying the config with BFD: %+v, %v", res, err)
	}
	without := nodeConfig([]frrconfig.Advertisement{{Prefix: pfx("192.0.2.10/32")}}, nil, 200)
	without.BFDProfiles = nil
	without.Routers[0].Neighbors[0].BFD, without.Routers[0].Neighbors[0].BFDProfile = false, ""
	res, err := l.client.Apply(ctx, 2, without)
	if err != nil || !res.Success {
		t.Fatalf("applying the config without BFD: %+v, %v", res, err)
	}
	l.checkRunning(t, without)
	l.waitRIB(t, "ipv4", map[string]route{"192.0.2.10/32": {LocalPref: 100}})
	if res, err := l.client.Apply(ctx, 2, without); err != nil || !res.Success || res.Method != frragent.MethodNone {
		t.Fatalf("re-applying the config without BFD: %+v, %v; want success by none", res, err)
	}
}

// TestFRRReloadOnFRR runs the Reloader (frr-reload.py) on real FRR: it must
// exit 0 on a good file, apply it, and write nothing outside its folder —
// not the instance's frr.conf in /etc/frr, which frr-reload.py overwrites
// with `vtysh write` after reloading any file but the one it boots from.
func TestFRRReloadOnFRR(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	bootConf := filepath.Join(frrproc.ConfDir(l.node.Name()), "frr.conf")
	before, err := os.ReadFile(bootConf)
	if err != nil {
		t.Fatal(err)
	}
	text, err := frrconfig.Render(nodeConfig([]frrconfig.Advertisement{{Prefix: pfx("192.0.2.10/32")}}, nil, 300))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "candidate.conf")
	if err := os.WriteFile(file, text, 0o600); err != nil {
		t.Fatal(err)
	}
	rundir := filepath.Join(dir, "run")
	if err := os.Mkdir(rundir, 0o700); err != nil {
		t.Fatal(err)
	}
	reload := frragent.FRRReload(filepath.Join(testenv.FRRDir, "frr-reload.py"), "vtysh", l.node.Name(), rundir)
	for i := range 2 { // the second run finds nothing to change
		if out, err := reload(ctx, file); err != nil {
			t.Fatalf("frr-reload.py run %d: %v\n%s", i+1, err, out)
		}
	}
	out, err := l.node.Vtysh(ctx, "-c", "show running-config")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "network 192.0.2.10/32") {
		t.Errorf("FRR does not run the reloaded file:\n%s", out)
	}
	after, err := os.ReadFile(bootConf)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("frr-reload.py rewrote %s:\n%s", bootConf, after)
	}
	if left, _ := filepath.Glob(filepath.Join(rundir, "*")); len(left) > 0 {
		t.Errorf("left in the reload folder: %v", left)
	}
}
