package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/internal/frrproc"
)

// bgpdKills SIGKILLs node3's bgpd kills times, as a crash would, with a
// Service announced by the three nodes, and times the FRR router's kernel
// route getting node3's next hop back after it lost it (the `ip monitor
// route` events), from the kill. What it measures is watchfrr noticing
// and restarting bgpd, the frr-agent noticing the restarted bgpd and
// giving it its config again, bgpd's hold after loading a config (its
// route-map delay-timer), the session's set-up and the router's best path
// and FIB programming.
func (b *bench) bgpdKills(ctx context.Context, kills int) ([]time.Duration, error) {
	svc := service("bench-bgpd-kill", "bench", corev1.IPv4Protocol)
	if err := b.c.Create(ctx, svc); err != nil {
		return nil, err
	}
	ips, err := b.waitIPs(ctx, svc, 1)
	if err != nil {
		return nil, err
	}
	ip := ips[0]
	node, _ := b.lab.Plan().Node("node3")
	victim := " via " + node.LAN4.String() + " "
	pidFile := filepath.Join(frrproc.RunDir(node.Netns), "bgpd.pid")
	var out []time.Duration
	var restarted time.Time
	for i := range kills {
		if err := b.waitRoute(ctx, ip, 2*time.Minute, func(r string) bool { return strings.Count(r, " via ") == 3 }); err != nil {
			return out, err
		}
		// watchfrr doubles its wait before a restart when the last one was
		// less than twice its --max-restart-interval (10 s) ago: each kill
		// here stands for a lone crash, not a crash loop.
		time.Sleep(time.Until(restarted.Add(21 * time.Second)))
		raw, err := os.ReadFile(pidFile)
		if err != nil {
			return out, fmt.Errorf("node3's bgpd: %w", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			return out, fmt.Errorf("node3's bgpd pid file %s: %w", pidFile, err)
		}
		start := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return out, fmt.Errorf("killing node3's bgpd (pid %d): %w", pid, err)
		}
		lost, err := b.fib.waitRoute(ctx, ip, start, 30*time.Second, func(r string) bool {
			return strings.Contains(r, " via ") && !strings.Contains(r, victim)
		})
		if err != nil {
			return out, fmt.Errorf("kill %d: the router did not drop node3: %w", i+1, err)
		}
		back, err := b.fib.waitRoute(ctx, ip, lost, 2*time.Minute, func(r string) bool { return strings.Contains(r, victim) })
		if err != nil {
			return out, fmt.Errorf("kill %d: node3's route did not come back: %w", i+1, err)
		}
		restarted = back
		out = append(out, back.Sub(start))
		progress("bgpd kill %d: node3's next hop back at the router after %s", i+1, back.Sub(start).Round(time.Millisecond))
	}
	return out, b.c.Delete(ctx, svc)
}
