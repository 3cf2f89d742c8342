package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
)

// bfdPace is a BFD profile's interval (ms) and detect multiplier.
type bfdPace struct{ interval, mult uint32 }

func (p bfdPace) String() string { return fmt.Sprintf("%dms×%d", p.interval, p.mult) }

// parsePaces parses "50x3,10x3".
func parsePaces(s string) ([]bfdPace, error) {
	var out []bfdPace
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		i, m, ok := strings.Cut(f, "x")
		iv, err1 := strconv.ParseUint(i, 10, 32)
		mv, err2 := strconv.ParseUint(m, 10, 32)
		if !ok || err1 != nil || err2 != nil || iv < 10 || mv < 2 {
			return nil, fmt.Errorf("BFD pace %q: want INTERVALxMULT, interval ≥ 10 ms (the BFDProfile minimum), multiplier ≥ 2, e.g. 10x3", f)
		}
		out = append(out, bfdPace{uint32(iv), uint32(mv)})
	}
	return out, nil
}

// setPace sets the bench BFDProfile (the FRR router's sessions) to p and
// waits until the router's three sessions run at it.
func (b *bench) setPace(ctx context.Context, p bfdPace) error {
	var prof v1beta1.BFDProfile
	if err := b.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bench"}, &prof); err != nil {
		return err
	}
	prof.Spec.ReceiveInterval, prof.Spec.TransmitInterval, prof.Spec.DetectMultiplier = ptr(p.interval), ptr(p.interval), ptr(p.mult)
	if err := b.c.Update(ctx, &prof); err != nil {
		return fmt.Errorf("setting BFDProfile bench to %s: %w", p, err)
	}
	return b.waitBFDPace(ctx, 3, p.interval, p.mult, time.Minute)
}

// failover cuts node3's LAN link trials times with a Service announced by
// the three nodes, BFD with the router at pace p, and times the router
// dropping node3's next hop.
func (b *bench) failover(ctx context.Context, trials int, p bfdPace) ([]time.Duration, error) {
	if err := b.setPace(ctx, p); err != nil {
		return nil, err
	}
	svc := service("bench-failover", "bench", corev1.IPv4Protocol)
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
	var out []time.Duration
	for range trials {
		// All three next hops, and BFD up with the bench profile's pace.
		if err := b.waitRoute(ctx, ip, 2*time.Minute, func(r string) bool { return strings.Count(r, " via ") == 3 }); err != nil {
			return out, err
		}
		if err := b.waitBFDUp(ctx, 3, time.Minute); err != nil {
			return out, err
		}
		time.Sleep(time.Second)
		start := time.Now()
		if err := b.lab.CutLink(ctx, "node3"); err != nil {
			return out, err
		}
		cut, err := b.links.waitDown(ctx, node.LANPort, start, 10*time.Second)
		if err != nil {
			return out, err
		}
		at, err := b.fib.waitRoute(ctx, ip, start, 30*time.Second, func(r string) bool {
			return strings.Contains(r, " via ") && !strings.Contains(r, victim)
		})
		if err == nil {
			// The event's route is the kernel's: check it once more.
			err = b.waitRoute(ctx, ip, time.Second, func(r string) bool { return !strings.Contains(r, victim) })
		}
		if rerr := b.lab.RestoreLink(ctx, "node3"); rerr != nil {
			return out, rerr
		}
		if err != nil {
			return out, err
		}
		out = append(out, at.Sub(cut))
	}
	return out, b.c.Delete(ctx, svc)
}

// waitRoute polls the router's kernel route to ip/32 every 10ms until ok
// holds for it. It times nothing.
func (b *bench) waitRoute(ctx context.Context, ip string, timeout time.Duration, ok func(string) bool) error {
	deadline := time.Now().Add(timeout)
	ns := b.lab.Plan().Router
	var last string
	for time.Now().Before(deadline) {
		o, err := exec.CommandContext(ctx, "ip", "-n", ns, "route", "show", ip+"/32").Output()
		if err != nil {
			return fmt.Errorf("ip -n %s route show %s: %w", ns, ip, err)
		}
		// One line per next hop; keep a space after each address.
		last = strings.ReplaceAll(string(o), "\n", " \n")
		if ok(last) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the router's route to %s did not change as expected in %s: %q", ip, timeout, last)
}

// waitBFDUp waits for n BFD sessions up at the router.
func (b *bench) waitBFDUp(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := b.lab.Vtysh(ctx, lab.RouterName, "show bfd peers brief")
		if err == nil && strings.Count(out, " up ") >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fewer than %d BFD sessions up after %s: %s", n, timeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitBFDPace waits until n BFD sessions of the router are up with the
// nodes asking for interval ms × mult.
func (b *bench) waitBFDPace(ctx context.Context, n int, interval, mult uint32, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var peers []struct {
			Status     string `json:"status"`
			RemoteRx   uint32 `json:"remote-receive-interval"`
			RemoteMult uint32 `json:"remote-detect-multiplier"`
		}
		out, err := b.lab.Vtysh(ctx, lab.RouterName, "show bfd peers json")
		if err == nil {
			err = json.Unmarshal([]byte(out), &peers)
		}
		ok := 0
		for _, p := range peers {
			if p.Status == "up" && p.RemoteRx == interval && p.RemoteMult == mult {
				ok++
			}
		}
		if err == nil && ok >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fewer than %d BFD sessions up at %d ms × %d after %s (%v): %s", n, interval, mult, timeout, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// peakRSS creates n IPv6 Services, waits until the router holds a route
// to each, and returns the speakers' largest VmHWM and each one's.
func (b *bench) peakRSS(ctx context.Context, n int) ([2]string, error) {
	names := make(chan string)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				if err := b.c.Create(ctx, service(name, "bench", corev1.IPv6Protocol)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range n {
		names <- fmt.Sprintf("bench6-%04d", i)
	}
	close(names)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return [2]string{}, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		got := b.fib.count6()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			return [2]string{}, fmt.Errorf("the router holds %d of %d IPv6 Service routes after 5m", got, n)
		}
		time.Sleep(time.Second)
	}
	// Let NodeStates and FRR state reads after the last apply run.
	time.Sleep(5 * time.Second)
	var peak int
	var each []string
	for name, p := range b.lab.Procs() {
		if !strings.HasPrefix(name, "speaker/") {
			continue
		}
		pid := p.PID
		if st, err := b.lab.Supervisor(name); err == nil && st.PID > 0 {
			pid = st.PID // the speaker's own, not its supervisor's
		}
		kb, err := vmHWM(pid)
		if err != nil {
			return [2]string{}, err
		}
		peak = max(peak, kb)
		each = append(each, fmt.Sprintf("%s %.1f", strings.TrimPrefix(name, "speaker/"), float64(kb)/1024))
	}
	slices.Sort(each)
	return [2]string{fmt.Sprintf("%.1f MiB (%.1f MB)", float64(peak)/1024, float64(peak)*1024/1e6), strings.Join(each, ", ") + " MiB"}, nil
}

// vmHWM returns the peak resident set of process pid in KiB.
func vmHWM(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the speaker's status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// soak sets the router's sessions to pace p, keeps every core busy with
// burners (one spinning process per CPU, at the nodes' priority) for d,
// and returns the BFD down transitions and BGP session drops the nodes
// counted meanwhile (their sessions with the router).
func (b *bench) soak(ctx context.Context, p bfdPace, d time.Duration, burners int) (bfdDowns, drops int, err error) {
	if err := b.setPace(ctx, p); err != nil {
		return 0, 0, err
	}
	time.Sleep(5 * time.Second) // the pace change itself settles
	before, err := b.lab.Counts(ctx)
	if err != nil {
		return 0, 0, err
	}
	var procs []*exec.Cmd
	for range burners {
		c := exec.CommandContext(ctx, "sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			return 0, 0, fmt.Errorf("starting a CPU burner: %w", err)
		}
		procs = append(procs, c)
	}
	defer func() {
		for _, c := range procs {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-time.After(d):
	}
	after, err := b.lab.Counts(ctx)
	if err != nil {
		return 0, 0, err
	}
	router := map[string]bool{lab.RouterAddr4.String(): true, lab.RouterAddr6.String(): true}
	for node, a := range after.Nodes {
		bf := before.Nodes[node]
		for peer, n := range a.BFDDown {
			if router[peer] {
				bfdDowns += n - bf.BFDDown[peer]
			}
		}
		for peer, n := range a.Dropped {
			if router[peer] {
				drops += n - bf.Dropped[peer]
			}
		}
	}
	return bfdDowns, drops, nil
}
