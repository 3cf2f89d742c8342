package frragent

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
)

// fakeFRR stands for vtysh and frr-reload.py in unit tests: it keeps a
// running config that reloads replace and that incremental commands replace
// with applyResult (FRR's behaviour is not modelled: the real-FRR test does
// that).
type fakeFRR struct {
	mu          sync.Mutex
	running     string
	applyResult string   // running config after an incremental apply
	dryRunErr   string   // vtysh -C prints this on stderr and fails when set
	applyErr    string   // an incremental apply fails with this when set
	commands    []string // last incremental commands
	reloads     int
	dryRuns     int
	// neighbors answers `show bgp vrf all neighbors json`; empty: no
	// neighbor has had a session.
	neighbors string
}

func (f *fakeFRR) vtysh(_ context.Context, args ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(args) == 3 && args[0] == "-C":
		f.dryRuns++
		if f.dryRunErr != "" {
			return "", &vtysh.Error{Args: args, Stderr: f.dryRunErr, Err: errors.New("exit status 2")}
		}
		return "", nil
	case len(args) > 1 && args[1] == "configure terminal":
		f.commands = nil
		for i := 3; i < len(args)-2; i += 2 {
			f.commands = append(f.commands, args[i])
		}
		if f.applyErr != "" {
			return "", &vtysh.Error{Args: args, Stdout: f.applyErr, Err: errors.New("exit status 1")}
		}
		f.running = f.applyResult
		return "", nil
	case strings.HasSuffix(strings.Join(args, " "), "show running-config"):
		return f.running, nil
	case strings.HasSuffix(strings.Join(args, " "), "show bgp vrf all neighbors json"):
		if f.neighbors == "" {
			return "{}", nil
		}
		return f.neighbors, nil
	}
	return "", errors.New("fake vtysh: unexpected " + strings.Join(args, " "))
}

func (f *fakeFRR) reload(_ context.Context, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = string(b)
	f.reloads++
	return "", nil
}

func testConfig(prefixes ...string) *frrconfig.Config {
	r := frrconfig.Router{ASN: 64512, RouterID: netip.MustParseAddr("198.51.100.11")}
	n := frrconfig.Neighbor{Address: netip.MustParseAddr("198.51.100.1"), RemoteAS: "64500"}
	for _, p := range prefixes {
		pp := netip.MustParsePrefix(p)
		r.IPv4Networks = append(r.IPv4Networks, pp)
		n.Advertise = append(n.Advertise, frrconfig.Advertisement{Prefix: pp, Communities: []string{"64500:1"}})
	}
	r.Neighbors = []frrconfig.Neighbor{n}
	return &frrconfig.Config{Routers: []frrconfig.Router{r}}
}

func render(t *testing.T, c *frrconfig.Config) string {
	t.Helper()
	b, err := frrconfig.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newTestAgent(t *testing.T, f *fakeFRR) (*Agent, *prometheus.Registry, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	path := filepath.Join(t.TempDir(), "frr.conf")
	a, err := New(Options{Vtysh: f.vtysh, Reload: f.reload, ConfigPath: path, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return a, reg, path
}

// summary is the part of a Result a test compares.
type summary struct {
	Method   Method
	Success  bool
	Rejected []vtysh.RejectedLine
	Reloads  int
	DryRuns  int
	FileIs   string
}

func TestApply(t *testing.T) {
	c1 := testConfig("192.0.2.10/32")
	c2 := testConfig("192.0.2.10/32", "192.0.2.11/32")
	// c3 gives the new prefix its own communities: a new class, so
	// route-map commands as well as a network one.
	c3 := testConfig("192.0.2.10/32", "192.0.2.11/32")
	c3.Routers[0].Neighbors[0].Advertise[1].Communities = []string{"64500:2"}
	for _, tc := range []struct {
		name string
		// prepare sets the fake up after c1 was applied (by a reload).
		prepare func(f *fakeFRR)
		next    *frrconfig.Config
		want    summary
	}{
		{
			name:    "networks only: applied without a dry run",
			prepare: func(f *fakeFRR) { f.applyResult = render(t, c2) },
			next:    c2,
			want:    summary{Method: MethodIncremental, Success: true, Reloads: 1, DryRuns: 1, FileIs: "c2"},
		},
		{
			name:    "new class: dry run, then incremental",
			prepare: func(f *fakeFRR) { f.applyResult = render(t, c3) },
			next:    c3,
			want:    summary{Method: MethodIncremental, Success: true, Reloads: 1, DryRuns: 2, FileIs: "c3"},
		},
		{
			name:    "incremental result differs: full reload",
			prepare: func(f *fakeFRR) { f.applyResult = render(t, c1) },
			next:    c2,
			want:    summary{Method: MethodReload, Success: true, Reloads: 2, DryRuns: 1, FileIs: "c2"},
		},
		{
			name: "a network refused by FRR: full reload",
			prepare: func(f *fakeFRR) {
				f.applyErr = "% Inconsistent address and mask"
			},
			next: c2,
			want: summary{Method: MethodReload, Success: true, Reloads: 2, DryRuns: 1, FileIs: "c2"},
		},
		{
			name: "rejected by the dry run: nothing changes",
			prepare: func(f *fakeFRR) {
				f.dryRunErr = "line 3: % Unknown command[25]:   route-map herald-class-1 permit 1\n"
			},
			next: c3,
			want: summary{Method: MethodIncremental, Rejected: []vtysh.RejectedLine{
				{Line: lineOf(strings.Split(render(t, c3), "\n"), "route-map herald-class-1 permit 1"), Text: "route-map herald-class-1 permit 1", Error: "% Unknown command"},
			}, Reloads: 1, DryRuns: 2, FileIs: "c1"},
		},
		{
			name:    "same config: nothing to do",
			prepare: func(f *fakeFRR) {},
			next:    c1,
			want:    summary{Method: MethodNone, Success: true, Reloads: 1, DryRuns: 1, FileIs: "c1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFRR{}
			a, _, path := newTestAgent(t, f)
			ctx := context.Background()
			if res := a.Apply(ctx, ApplyRequest{Generation: 1, Config: c1}); !res.Success || res.Method != MethodReload {
				t.Fatalf("first apply: %+v, want a successful reload", res)
			}
			tc.prepare(f)
			res := a.Apply(ctx, ApplyRequest{Generation: 2, Config: tc.next})
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fileIs := map[string]string{render(t, c1): "c1", render(t, c2): "c2", render(t, c3): "c3"}[string(b)]
			got := summary{Method: res.Method, Success: res.Success, Rejected: res.Rejected, Reloads: f.reloads, DryRuns: f.dryRuns, FileIs: fileIs}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Apply mismatch (-want +got):\n%s\nresult: %+v", diff, res)
			}
			if res.Generation != 2 {
				t.Errorf("Result.Generation = %d, want 2", res.Generation)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("frr.conf mode = %v (%v), want 0600", fi.Mode().Perm(), err)
			}
		})
	}
}

func TestApplyIncrementalSendsDiff(t *testing.T) {
	f := &fakeFRR{}
	a, reg, _ := newTestAgent(t, f)
	if n, err := testutil.GatherAndCount(reg, "herald_frr_apply_total"); err != nil || n != 0 {
		t.Fatalf("before any apply: %d series of herald_frr_apply_total (%v), want 0", n, err)
	}
	c1, c2 := testConfig("192.0.2.10/32"), testConfig("192.0.2.10/32", "192.0.2.11/32")
	a.Apply(context.Background(), ApplyRequest{Generation: 1, Config: c1})
	f.applyResult = render(t, c2)
	if res := a.Apply(context.Background(), ApplyRequest{Generation: 2, Config: c2}); res.Method != MethodIncremental || !res.Success {
		t.Fatalf("second apply: %+v", res)
	}
	want, err := frrconfig.Diff(c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, f.commands); diff != "" {
		t.Errorf("commands sent to vtysh differ from Diff's (-want +got):\n%s", diff)
	}
	for _, m := range []struct {
		result, method string
		want           float64
	}{{"success", "reload", 1}, {"success", "incremental", 1}} {
		got := testutil.ToFloat64(a.metrics.applies.WithLabelValues(m.result, m.method))
		if got != m.want {
			t.Errorf("herald_frr_apply_total{result=%s,method=%s} = %v, want %v", m.result, m.method, got, m.want)
		}
	}
}

func TestApplyAdoptsRunningConfig(t *testing.T) {
	c1 := testConfig("192.0.2.10/32")
	f := &fakeFRR{running: "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\n" + render(t, c1)}
	a, _, _ := newTestAgent(t, f)
	res := a.Apply(context.Background(), ApplyRequest{Generation: 7, Config: c1})
	if !res.Success || res.Method != MethodNone || f.reloads != 0 {
		t.Errorf("apply of the config FRR runs: %+v after %d reloads, want success by none without reload", res, f.reloads)
	}
}

func TestApplyBadRequests(t *testing.T) {
	a, _, _ := newTestAgent(t, &fakeFRR{})
	for _, tc := range []struct {
		name string
		req  ApplyRequest
		want string
	}{
		{"empty", ApplyRequest{Generation: 1}, "neither config nor rendered"},
		{"invalid model", ApplyRequest{Generation: 1, Config: &frrconfig.Config{Routers: []frrconfig.Router{{ASN: 0}}}}, "rendering the config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := a.Apply(context.Background(), tc.req)
			if res.Success || !strings.Contains(res.Error, tc.want) {
				t.Errorf("Apply(%s) = %+v, want a failure saying %q", tc.name, res, tc.want)
			}
		})
	}
}

func TestNewRequiresOptions(t *testing.T) {
	f := &fakeFRR{}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no vtysh", Options{Reload: f.reload, ConfigPath: "x"}, "Options.Vtysh"},
		{"no reload", Options{Vtysh: f.vtysh, ConfigPath: "x"}, "Options.Reload"},
		{"no path", Options{Vtysh: f.vtysh, Reload: f.reload}, "Options.ConfigPath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New() error = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestStanzas(t *testing.T) {
	lines := []string{"router bgp 1", " neighbor x", "exit", "bfd", " profile a", " exit", "exit", "route-map r deny 1", "exit"}
	if diff := cmp.Diff([]string{"router bgp 1", " neighbor x", "exit", "route-map r deny 1", "exit"}, withoutStanza(lines, "bfd")); diff != "" {
		t.Errorf("withoutStanza (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"bfd", " profile a", " exit", "exit"}, onlyStanza(lines, "bfd")); diff != "" {
		t.Errorf("onlyStanza (-want +got):\n%s", diff)
	}
}

func TestFamilyWords(t *testing.T) {
	for in, want := range map[string]string{"ipv4Unicast": "ipv4 unicast", "ipv6Unicast": "ipv6 unicast", "l2VpnEvpn": ""} {
		if got, _ := familyWords(in); got != want {
			t.Errorf("familyWords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRouteMapCommands(t *testing.T) {
	tests := []struct {
		name string
		cmds []string
		want []string
	}{
		{"networks only", []string{"router bgp 64512", "address-family ipv4 unicast", "network 192.0.2.1/32 route-map herald-class-7", "exit-address-family", "exit"}, nil},
		{"entries keep their tag lines, not bgpd's set lines", []string{
			"route-map 198.51.100.1-out permit 10", "match tag 7", "set community 65000:1", "set large-community 1:2:3", "set local-preference 200", "exit",
			"route-map herald-class-7 permit 1", "set tag 7", "exit",
			"router bgp 64512", "address-family ipv4 unicast", "network 192.0.2.1/32 route-map herald-class-7", "exit-address-family", "exit",
			"no route-map 198.51.100.1-out permit 11", "no route-map herald-class-8",
		}, []string{
			"route-map 198.51.100.1-out permit 10", "match tag 7", "exit",
			"route-map herald-class-7 permit 1", "set tag 7", "exit",
			"no route-map 198.51.100.1-out permit 11", "no route-map herald-class-8",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, routeMapCommands(tc.cmds)); diff != "" {
				t.Errorf("routeMapCommands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNetworksOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmds []string
		want bool
	}{
		{"a network added", []string{"router bgp 64512", "address-family ipv4 unicast", "network 192.0.2.1/32 route-map herald-class-7", "exit-address-family", "exit"}, true},
		{"networks added and removed in two families", []string{"router bgp 64512 vrf red",
			"address-family ipv4 unicast", "no network 192.0.2.2/32", "exit-address-family",
			"address-family ipv6 unicast", "network 2001:db8::1/128 route-map herald-class-9", "exit-address-family", "exit"}, true},
		{"a new class", []string{"route-map herald-class-8 permit 1", "set tag 8", "exit",
			"router bgp 64512", "address-family ipv4 unicast", "network 192.0.2.1/32 route-map herald-class-8", "exit-address-family", "exit"}, false},
		{"a neighbor line", []string{"router bgp 64512", "neighbor 198.51.100.1 bfd", "exit"}, false},
		{"a bfd profile", []string{"bfd", "profile fast", "exit", "exit"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := networksOnly(tc.cmds); got != tc.want {
				t.Errorf("networksOnly(%q) = %v, want %v", tc.cmds, got, tc.want)
			}
		})
	}
}

// TestFRRReloadRemovesLeftovers: a reload stopped by its context leaves
// frr-reload.py's command file behind in --rundir; the Reloader removes it.
func TestFRRReloadRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	rundir := filepath.Join(dir, "run")
	if err := os.Mkdir(rundir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A stand-in for frr-reload.py: writes its command file to --rundir,
	// as the script does before it runs vtysh, then hangs.
	script := filepath.Join(dir, "frr-reload.py")
	body := "#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ \"$1\" = --rundir ]; then shift; echo 'router bgp 64512' > \"$1/reload-ABC123.txt\"; fi; shift; done\nexec sleep 30\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := FRRReload(script, "", "", rundir)(ctx, filepath.Join(dir, "frr.conf")); err == nil {
		t.Fatal("a reload killed by its context succeeded")
	}
	left, _ := filepath.Glob(filepath.Join(rundir, "*"))
	if len(left) > 0 {
		t.Errorf("left in --rundir after the reload: %v", left)
	}
}

// TestBFDWaitsForTheFirstSession: a neighbor's BFD reaches FRR only once
// its session has been established, and is then added to the newest
// config, never to an older one (Watch's re-apply holds the apply lock).
func TestBFDWaitsForTheFirstSession(t *testing.T) {
	f := &fakeFRR{}
	a, _, _ := newTestAgent(t, f)
	ctx := context.Background()
	withBFD := func(c *frrconfig.Config) *frrconfig.Config {
		c.Routers[0].Neighbors[0].BFD = true
		return c
	}
	c1, c2 := withBFD(testConfig("192.0.2.10/32")), withBFD(testConfig("192.0.2.10/32", "192.0.2.11/32"))
	noBFD := func(c *frrconfig.Config) *frrconfig.Config {
		d, _ := withBFDDeferred(c, nil)
		return d
	}
	res := a.Apply(ctx, ApplyRequest{Generation: 1, Config: c1})
	if !res.Success || !slices.Equal(res.BFDPending, []string{"198.51.100.1"}) {
		t.Fatalf("first apply: %+v; want success with BFD pending for 198.51.100.1", res)
	}
	if strings.Contains(f.running, " bfd") {
		t.Fatalf("FRR got BFD before the session came up:\n%s", f.running)
	}
	f.applyResult = render(t, noBFD(c2))
	if res := a.Apply(ctx, ApplyRequest{Generation: 2, Config: c2}); !res.Success || len(res.BFDPending) != 1 {
		t.Fatalf("second apply: %+v", res)
	}

	// While an apply runs, Watch leaves the config alone.
	f.neighbors = `{"default":{"vrfId":0,"vrfName":"default","198.51.100.1":{"connectionsEstablished":1}}}`
	a.applyMu.Lock()
	if !a.enableWaitingBFD(ctx) {
		t.Error("enableWaitingBFD said nothing waits while an apply held the lock")
	}
	a.applyMu.Unlock()
	if got := a.lastGood(); got.gen != 2 || len(got.bfdPending) != 1 {
		t.Fatalf("the config changed while an apply held the lock: generation %d, pending %v", got.gen, got.bfdPending)
	}

	// The session came up: BFD is added to the newest config.
	f.applyResult = render(t, c2)
	if a.enableWaitingBFD(ctx) {
		t.Error("enableWaitingBFD says a neighbor still waits after its session came up")
	}
	got := a.lastGood()
	if got.gen != 2 || got.requested != c2 || len(got.bfdPending) != 0 {
		t.Errorf("after the session came up: generation %d, pending %v; want generation 2's config with BFD", got.gen, got.bfdPending)
	}
	if !slices.Contains(f.commands, "neighbor 198.51.100.1 bfd") {
		t.Errorf("commands %q do not turn BFD on", f.commands)
	}
}
