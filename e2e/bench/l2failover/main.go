// Command l2failover measures Layer 2 failover in network namespaces: three
// nodes (each a process running speaker/l2's Node with real ARP/NDP sockets
// and memberlist) on a bridge, and a client probing a Service IP with ARP
// every 10 ms. It prints, over N trials, the time from cutting the owner's
// link (its switch port down) to the first reply from the new owner, and
// from SIGTERM to the owner's process to the first reply from the new owner.
// With -stability it also counts ownership changes over a run with every
// core kept busy.
//
// Run as root from the module root:
//
//	go run ./e2e/bench/l2failover -trials 10
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/heraldlb/herald/speaker/l2/l2lab"
	"github.com/heraldlb/herald/speaker/l2/owner"
)

const vip = "192.0.2.10"

// timers overrides member.DefaultConfig's timers in every node.
var timers l2lab.NodeSpec

func withTimers(specs []l2lab.NodeSpec) []l2lab.NodeSpec {
	for i := range specs {
		specs[i].ProbeInterval, specs[i].ProbeTimeout = timers.ProbeInterval, timers.ProbeTimeout
		specs[i].SuspicionMult, specs[i].SuspicionMaxTimeoutMult = timers.SuspicionMult, timers.SuspicionMaxTimeoutMult
		specs[i].AwarenessMaxMultiplier = timers.AwarenessMaxMultiplier
		specs[i].Silence = timers.Silence
		specs[i].Nice = timers.Nice
	}
	return specs
}

func main() {
	l2lab.MaybeRunNode()
	l2lab.MaybeRunProber()
	trials := flag.Int("trials", 10, "trials per scenario")
	stability := flag.Duration("stability", 0, "also run this long with all cores busy and 100 Services, counting ownership changes (0: skip)")
	flag.DurationVar(&timers.ProbeInterval, "probe-interval", 0, "memberlist probe interval (0: member.DefaultConfig)")
	flag.DurationVar(&timers.ProbeTimeout, "probe-timeout", 0, "memberlist probe timeout (0: default)")
	flag.IntVar(&timers.SuspicionMult, "suspicion-mult", 0, "memberlist suspicion multiplier (0: default)")
	flag.IntVar(&timers.SuspicionMaxTimeoutMult, "suspicion-max-mult", 0, "memberlist suspicion max timeout multiplier (0: default)")
	flag.IntVar(&timers.AwarenessMaxMultiplier, "awareness-max", 0, "memberlist awareness max multiplier (0: default)")
	flag.DurationVar(&timers.Silence, "silence", 0, "how long a node declared dead must be silent before its IPs move (0: default; negative: none, the IPs move at once)")
	flag.IntVar(&timers.Nice, "node-nice", 0, "run the node processes at this niceness (e.g. -10: the CPU share a CPU request gives a speaker)")
	flag.Parse()
	if err := run(*trials, *stability); err != nil {
		fmt.Fprintf(os.Stderr, "l2failover: %v\n", err)
		os.Exit(1)
	}
}

// bench is a running lab with its node processes.
type bench struct {
	lab   *l2lab.Lab
	specs []l2lab.NodeSpec
	procs []*exec.Cmd
	exe   string
	logs  *ownedCounter
}

func run(trials int, stability time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	lab, err := l2lab.New(3)
	if err != nil {
		return err
	}
	defer lab.Close()
	b := &bench{lab: lab, exe: exe, logs: &ownedCounter{}}
	b.specs, err = lab.NodeSpecs(vip)
	if err != nil {
		return err
	}
	b.specs = withTimers(b.specs)
	for i := range b.specs {
		if err := b.start(i); err != nil {
			return err
		}
	}
	defer b.stopAll()

	prober, err := lab.StartProber(vip, 10*time.Millisecond, exe)
	if err != nil {
		return err
	}
	defer prober.Stop()
	replies := prober.Replies

	names := make([]string, len(b.specs))
	for i, s := range b.specs {
		names[i] = s.Name
	}
	ownerIdx := slices.Index(names, owner.Owner(netip.MustParseAddr(vip), names))
	rest := slices.Delete(slices.Clone(names), ownerIdx, ownerIdx+1)
	next := slices.Index(names, owner.Owner(netip.MustParseAddr(vip), rest))
	ownerMAC, nextMAC := l2lab.NodeMAC(ownerIdx+1).String(), l2lab.NodeMAC(next+1).String()
	fmt.Fprintf(os.Stderr, "owner of %s: %s (%s); after it: %s (%s)\n", vip, names[ownerIdx], ownerMAC, names[next], nextMAC)

	if _, err := waitFor(replies, ownerMAC, time.Time{}, 30*time.Second); err != nil {
		return fmt.Errorf("waiting for the first owner: %w", err)
	}
	var cut, term []time.Duration
	for t := range trials {
		settle(replies, ownerMAC, 2*time.Second)
		t0 := time.Now()
		if err := lab.Cut(ownerIdx); err != nil {
			return err
		}
		at, err := waitFor(replies, nextMAC, t0, 10*time.Second)
		if err != nil {
			return fmt.Errorf("cut trial %d: %w", t, err)
		}
		cut = append(cut, at.Sub(t0))
		fmt.Fprintf(os.Stderr, "cut trial %d: %v\n", t, at.Sub(t0).Round(time.Millisecond))
		if err := lab.Restore(ownerIdx); err != nil {
			return err
		}
		if _, err := waitFor(replies, ownerMAC, time.Now(), 30*time.Second); err != nil {
			return fmt.Errorf("cut trial %d: waiting for the hand-back: %w", t, err)
		}
	}
	for t := range trials {
		settle(replies, ownerMAC, 2*time.Second)
		t0 := time.Now()
		if err := b.procs[ownerIdx].Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		at, err := waitFor(replies, nextMAC, t0, 10*time.Second)
		if err != nil {
			return fmt.Errorf("SIGTERM trial %d: %w", t, err)
		}
		term = append(term, at.Sub(t0))
		fmt.Fprintf(os.Stderr, "SIGTERM trial %d: %v\n", t, at.Sub(t0).Round(time.Millisecond))
		b.procs[ownerIdx].Wait()
		if err := b.start(ownerIdx); err != nil {
			return err
		}
		if _, err := waitFor(replies, ownerMAC, time.Now(), 30*time.Second); err != nil {
			return fmt.Errorf("SIGTERM trial %d: waiting for the restarted owner: %w", t, err)
		}
	}

	if trials > 0 {
		printTable(trials, cut, term)
	}
	if stability > 0 {
		changes, err := b.stability(stability)
		if err != nil {
			return err
		}
		fmt.Printf("\nstability: %v with %d CPU burners and 100 Services, nodes at nice %d: %d ownership changes\n", stability, runtime.NumCPU(), timers.Nice, changes)
	}
	return nil
}

func printTable(trials int, cut, term []time.Duration) {
	fmt.Printf("\nL2 failover, 3 nodes in namespaces, client ARP probe every 10 ms, %d trials each (%d CPUs)\n\n", trials, runtime.NumCPU())
	fmt.Printf("| %-40s | %8s | %8s | %8s |\n", "scenario", "p50", "max", "min")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 42), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 10))
	row("link cut → first reply from new owner", cut)
	row("SIGTERM → first reply from new owner", term)
}

func row(name string, d []time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	r := func(x time.Duration) string { return x.Round(time.Millisecond).String() }
	fmt.Printf("| %-40s | %8s | %8s | %8s |\n", name, r(s[(len(s)-1)/2]), r(s[len(s)-1]), r(s[0]))
}

func (b *bench) start(i int) error {
	p, err := b.lab.StartNode(i, b.specs[i], b.logs.writer(), b.exe)
	if err != nil {
		return err
	}
	if len(b.procs) <= i {
		b.procs = append(b.procs, p)
	} else {
		b.procs[i] = p
	}
	return nil
}

func (b *bench) stopAll() {
	for _, p := range b.procs {
		if p.ProcessState == nil {
			p.Process.Kill()
			p.Wait()
		}
	}
}

// waitFor returns the time of the first reply from mac after since.
func waitFor(replies <-chan l2lab.Reply, mac string, since time.Time, within time.Duration) (time.Time, error) {
	deadline := time.After(within)
	for {
		select {
		case r, ok := <-replies:
			if !ok {
				return time.Time{}, fmt.Errorf("prober ended")
			}
			if r.MAC == mac && r.At.After(since) {
				return r.At, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("no reply from %s within %v", mac, within)
		}
	}
}

// settle drains replies for d, so that a trial starts from a stable owner.
func settle(replies <-chan l2lab.Reply, _ string, d time.Duration) {
	end := time.After(d)
	for {
		select {
		case <-replies:
		case <-end:
			return
		}
	}
}

// stability restarts the nodes with 100 Services, keeps every core busy for
// d and counts the ownership changes the nodes log after they converged.
func (b *bench) stability(d time.Duration) (int64, error) {
	b.stopAll()
	var ips []string
	for i := range 100 {
		ips = append(ips, fmt.Sprintf("192.0.2.%d", 100+i))
	}
	specs, err := b.lab.NodeSpecs(ips...)
	if err != nil {
		return 0, err
	}
	b.specs = withTimers(specs)
	for i := range specs {
		if err := b.start(i); err != nil {
			return 0, err
		}
	}
	time.Sleep(5 * time.Second) // converge
	before := b.logs.count.Load()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for {
				select {
				case <-stop:
					return
				default:
					for i := range 1_000_000 {
						x += i
					}
				}
			}
		}()
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()
	return b.logs.count.Load() - before, nil
}

// ownedCounter counts the nodes' "owned" log lines (one per ownership
// change on a node) and passes the log on to stderr.
type ownedCounter struct {
	count atomic.Int64
}

func (o *ownedCounter) writer() io.Writer {
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, `"msg"="owned"`) {
				o.count.Add(1)
			}
			fmt.Fprintln(os.Stderr, line)
		}
	}()
	return pw
}
