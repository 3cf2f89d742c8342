package frragent_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frrconfig"
)

// TestBGPDKilledRoutesBack kills the node's bgpd five times, as a crash
// would, with the agent at its production settings (Options'
// CheckInterval left at its default) and the instance's own frr.conf
// empty of herald's config, as in the lab: watchfrr restarts bgpd without
// it, and the agent must put it back. After each kill it checks that the
// node runs the config again and the router has the routes again, and it
// prints how long each step took (p50 and max: no timing assertion).
func TestBGPDKilledRoutesBack(t *testing.T) {
	l := newLab(t, func(o *frragent.Options) { o.CheckInterval = 0 })
	ctx := context.Background()
	cfg := nodeConfig([]frrconfig.Advertisement{{Prefix: pfx("192.0.2.20/32")}, {Prefix: pfx("192.0.2.21/32")}}, nil, 300)
	// As the speaker sends it (--route-map-delay): bgpd holds a peer
	// after loading a config until its route-map timer fires.
	cfg.RouteMapDelaySeconds = 1
	if res, err := l.client.Apply(ctx, 1, cfg); err != nil || !res.Success {
		t.Fatalf("applying the first config: %+v, %v", res, err)
	}
	want := map[string]route{"192.0.2.20/32": {LocalPref: 100}, "192.0.2.21/32": {LocalPref: 100}}
	l.waitRIB(t, "ipv4", want)
	if err := os.WriteFile(l.node.ConfigPath(), []byte("frr defaults traditional\n!\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	const kills = 5
	var restarted, back []time.Duration
	var lastRestart time.Time
	for i := range kills {
		// watchfrr doubles its wait before a restart when the last one
		// was less than twice --max-restart-interval (10 s) ago: a crash
		// loop backs off. Each kill here stands for a lone crash.
		time.Sleep(time.Until(lastRestart.Add(21 * time.Second)))
		old, err := l.node.KillDaemon("bgpd")
		if err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		if _, err := l.node.WaitDaemon(wctx, "bgpd", old); err != nil {
			cancel()
			t.Fatalf("kill %d: bgpd not restarted: %v", i+1, err)
		}
		lastRestart = time.Now()
		restarted = append(restarted, time.Since(killed))
		for {
			got, err := l.rib(wctx, "ipv4")
			if err == nil && cmp.Equal(want, got) {
				break
			}
			if wctx.Err() != nil {
				cancel()
				out, _ := l.node.Vtysh(ctx, "-c", "show bgp summary")
				t.Fatalf("kill %d: the router's routes are not back 60s after bgpd's kill (-want +got):\n%s\nnode: %s", i+1, cmp.Diff(want, got), out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		back = append(back, time.Since(killed))
		cancel()
		l.checkRunning(t, cfg)
		t.Logf("kill %d: bgpd back after %v, routes at the router after %v", i+1, restarted[i].Round(time.Millisecond), back[i].Round(time.Millisecond))
	}
	t.Logf("bgpd killed %d times:\n%s", kills, durationTable([]string{"bgpd answers again", "routes back at the router"}, restarted, back))
}

// durationTable prints one row per series: its name, p50 and max.
func durationTable(names []string, series ...[]time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %8s %8s\n", "", "p50", "max")
	for i, s := range series {
		s = slices.Clone(s)
		slices.Sort(s)
		fmt.Fprintf(&b, "%-28s %7.2fs %7.2fs\n", names[i], s[len(s)/2].Seconds(), s[len(s)-1].Seconds())
	}
	return b.String()
}
