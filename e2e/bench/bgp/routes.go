package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// The routers' route watches: the FRR router's and BIRD's kernel tables
// (`ip monitor route` in their namespaces) and GoBGP's RIB (`gobgp monitor
// global rib`, GoBGP has no FIB). Each records, per host route, when it
// became present and when it became absent, timed when the line was read:
// an event's time, never a poll's.

// routeWatch follows one router's routes to the Services' addresses.
type routeWatch struct {
	// name is the router's, for errors: "the FRR router", "BIRD", "GoBGP".
	name string

	mu sync.Mutex
	// events are each address's transitions, oldest first: present
	// (added) or absent (deleted). A route replaced by another (new next
	// hops, a new best path) is no transition.
	events map[string][]routeEvent
	// present holds the addresses routed now.
	present map[string]bool
	// last and lastAt are each present route's last message (its next
	// hops) and when it came.
	last   map[string]string
	lastAt map[string]time.Time
	// err is why the watch stopped, if it did before the bench ended.
	err     error
	changed chan struct{}
	// lookup reads the router's own table for an address, when a wait
	// for a message times out: it tells a route still there from a
	// message the watch never got.
	lookup func(ctx context.Context, ip string) (present bool, detail string, err error)
}

// errNoMessage is a waitDeleted that timed out while the router's own
// table, read then, had no route: the router withdrew it, the watch never
// heard (a kernel route removed with its nexthop group sends no message).
var errNoMessage = errors.New("the route is gone from the router's table, but no message said so")

// routeEvent is one transition of a route.
type routeEvent struct {
	at      time.Time
	present bool
}

func newRouteWatch(name string) *routeWatch {
	return &routeWatch{name: name, events: map[string][]routeEvent{}, present: map[string]bool{},
		last: map[string]string{}, lastAt: map[string]time.Time{}, changed: make(chan struct{})}
}

// record notes a message about dst's route read at at: present (with msg,
// its next hops) or absent.
func (w *routeWatch) record(at time.Time, dst string, present bool, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if present != w.present[dst] {
		w.events[dst] = append(w.events[dst], routeEvent{at: at, present: present})
	}
	if present {
		w.present[dst] = true
		w.last[dst], w.lastAt[dst] = msg, at
	} else {
		delete(w.present, dst)
		delete(w.last, dst)
	}
	w.notify()
}

// stopped records that the watch ended early: waits fail from then on.
func (w *routeWatch) stopped(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err = err
	w.notify()
}

func (w *routeWatch) notify() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// watchFIB follows the kernel routes of namespace netns that carry proto
// (zebra's "bgp", BIRD's "bird") with `ip -o monitor route`, until ctx
// ends.
func watchFIB(ctx context.Context, name, netns, proto string) (*routeWatch, error) {
	w := newRouteWatch(name)
	w.lookup = func(ctx context.Context, ip string) (bool, string, error) {
		out, err := exec.CommandContext(ctx, "ip", "-n", netns, "route", "show", ip, "proto", proto).CombinedOutput()
		if err != nil {
			return false, "", fmt.Errorf("ip -n %s route show %s: %w: %s", netns, ip, err, out)
		}
		text := strings.TrimSpace(string(out))
		return text != "", text, nil
	}
	return w, ipMonitor(ctx, netns, "route", func(at time.Time, l string) { w.fibLine(at, l, proto) }, w.stopped)
}

// fibLine records one line of `ip -o monitor route`: "192.0.2.5 nhid 40
// proto bgp metric 20", "Deleted 192.0.2.5 nhid ...", "2001:db8:200::5
// proto bird metric 32 \tnexthop via ...".
func (w *routeWatch) fibLine(at time.Time, l, proto string) {
	f := strings.Fields(l)
	if len(f) < 2 || !hasField(f, "proto", proto) {
		return
	}
	del := f[0] == "Deleted"
	if del {
		f = f[1:]
	}
	dst := strings.TrimSuffix(strings.TrimSuffix(f[0], "/32"), "/128")
	// A space after the last address, as in the polled form.
	w.record(at, dst, !del, strings.ReplaceAll(l, "\\", " ")+" ")
}

// hasField reports whether key is followed by value in f.
func hasField(f []string, key, value string) bool {
	for i := 1; i < len(f); i++ {
		if f[i-1] == key && f[i] == value {
			return true
		}
	}
	return false
}

// watchGoBGP follows GoBGP's best paths with `gobgp monitor global rib -j`
// in its namespace, one process per family, until ctx ends. (GoBGP 3.10's
// monitor ignores -a and prints every family: each line comes twice, which
// changes nothing, as only transitions are recorded, at the first line.)
func watchGoBGP(ctx context.Context, netns, api string) (*routeWatch, error) {
	w := newRouteWatch("GoBGP")
	host, port, _ := strings.Cut(api, ":")
	w.lookup = func(ctx context.Context, ip string) (bool, string, error) {
		fam, bits := "ipv4", "/32"
		if strings.Contains(ip, ":") {
			fam, bits = "ipv6", "/128"
		}
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", netns, "gobgp", "-u", host, "-p", port,
			"global", "rib", "-a", fam, ip+bits, "-j").CombinedOutput()
		if err != nil {
			return false, "", fmt.Errorf("gobgp global rib %s: %w: %s", ip, err, out)
		}
		var rib map[string][]json.RawMessage
		if err := json.Unmarshal(out, &rib); err != nil {
			return false, "", fmt.Errorf("decoding gobgp global rib %s %q: %w", ip, out, err)
		}
		return len(rib[ip+bits]) > 0, strings.TrimSpace(string(out)), nil
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", netns,
			"gobgp", "-u", host, "-p", port, "monitor", "global", "rib", "-a", fam, "-j")
		if err := lines(ctx, cmd, w.gobgpLine, w.stopped); err != nil {
			return nil, fmt.Errorf("starting gobgp monitor global rib -a %s in %s: %w", fam, netns, err)
		}
	}
	return w, nil
}

// gobgpPath is what `gobgp monitor global rib -j` (GoBGP 3.10) prints of
// a path: one JSON array of them per event, such as
// [{"nlri":{"prefix":"192.0.2.5/32"},"age":1796654194,"best":false,
// "attrs":[...],"stale":false,"source-id":"203.0.113.11",
// "neighbor-ip":"198.51.100.11"}] when a prefix gets a new best path
// ("best" is not filled in), the same with "withdrawal":true when its last
// path goes, and [] for events of no path.
type gobgpPath struct {
	NLRI struct {
		Prefix string `json:"prefix"`
	} `json:"nlri"`
	Withdrawal bool   `json:"withdrawal"`
	Neighbor   string `json:"neighbor-ip"`
}

// gobgpLine records one line of the monitor: a new best path to a prefix
// (present, from its neighbor) or its withdrawal (absent).
func (w *routeWatch) gobgpLine(at time.Time, l string) {
	var paths []gobgpPath
	if err := json.Unmarshal([]byte(l), &paths); err != nil {
		w.stopped(fmt.Errorf("gobgp monitor printed %q: %w", l, err))
		return
	}
	for _, p := range paths {
		dst, _, _ := strings.Cut(p.NLRI.Prefix, "/")
		w.record(at, dst, !p.Withdrawal, "best via "+p.Neighbor+" ")
	}
}

// children are the watch processes lines started, each with a channel
// closed once it has ended; stopChildren ends them.
var children struct {
	mu    sync.Mutex
	procs []child
}

type child struct {
	cmd   *exec.Cmd
	ended chan struct{}
}

// stopChildren kills every watch process and waits (5 s at most) for each
// to end: the bench must not exit before, or they would outlive it (a
// cancelled context kills them only while the program still runs).
func stopChildren() {
	children.mu.Lock()
	defer children.mu.Unlock()
	for _, c := range children.procs {
		_ = c.cmd.Process.Kill()
	}
	timeout := time.After(5 * time.Second)
	for _, c := range children.procs {
		select {
		case <-c.ended:
		case <-timeout:
			return
		}
	}
	children.procs = nil
}

// lines starts cmd and hands each line of its standard output to line
// with the time it was read, until cmd ends; if it ends before ctx does,
// stopped gets why.
func lines(ctx context.Context, cmd *exec.Cmd, line func(at time.Time, l string), stopped func(error)) error {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	ended := make(chan struct{})
	children.mu.Lock()
	children.procs = append(children.procs, child{cmd: cmd, ended: ended})
	children.mu.Unlock()
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(out)
		// An event of many paths is one line.
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			line(time.Now(), sc.Text())
		}
		err := sc.Err()
		if werr := cmd.Wait(); err == nil {
			err = werr
		}
		if ctx.Err() == nil && stopped != nil {
			stopped(fmt.Errorf("%s ended: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String())))
		}
	}()
	return nil
}

// waitAdded returns when ip's route first became present at or after
// since.
func (w *routeWatch) waitAdded(ctx context.Context, ip string, since time.Time, timeout time.Duration) (time.Time, error) {
	return w.until(ctx, timeout, func() (time.Time, bool) {
		for _, e := range w.events[ip] {
			if e.present && !e.at.Before(since) {
				return e.at, true
			}
		}
		return time.Time{}, false
	}, func() error {
		return fmt.Errorf("%s's route to %s did not appear within %s (present: %v)", w.name, ip, timeout, w.present[ip])
	})
}

// waitDeleted returns when ip's route last became absent, if it is absent
// now and that was at or after since.
func (w *routeWatch) waitDeleted(ctx context.Context, ip string, since time.Time, timeout time.Duration) (time.Time, error) {
	at, err := w.until(ctx, timeout, func() (time.Time, bool) {
		ev := w.events[ip]
		if len(ev) == 0 || ev[len(ev)-1].present || ev[len(ev)-1].at.Before(since) {
			return time.Time{}, false
		}
		return ev[len(ev)-1].at, true
	}, func() error {
		return fmt.Errorf("%s's route to %s was not withdrawn within %s (its last message: %q)", w.name, ip, timeout, w.last[ip])
	})
	if err == nil || w.lookup == nil || ctx.Err() != nil {
		return at, err
	}
	// Read the router's own table: a route still there is a withdrawal
	// lost; none is a message lost.
	present, detail, lerr := w.lookup(ctx, ip)
	switch {
	case lerr != nil:
		return at, fmt.Errorf("%w; reading the router's table: %v", err, lerr)
	case present:
		return at, fmt.Errorf("%w; the router's table still has it: %s", err, detail)
	}
	// The watch believes it present: record the absence, or the next
	// route to this address would be no transition.
	w.record(time.Now(), ip, false, "")
	return time.Time{}, fmt.Errorf("%s's route to %s: %w", w.name, ip, errNoMessage)
}

// waitRoute returns when a message at or after since gave ip's route next
// hops for which ok holds.
func (w *routeWatch) waitRoute(ctx context.Context, ip string, since time.Time, timeout time.Duration, ok func(string) bool) (time.Time, error) {
	var last string
	return w.until(ctx, timeout, func() (time.Time, bool) {
		last = w.last[ip]
		at := w.lastAt[ip]
		return at, last != "" && !at.Before(since) && ok(last)
	}, func() error {
		return fmt.Errorf("no message changed %s's route to %s as expected within %s (last: %q)", w.name, ip, timeout, last)
	})
}

// until returns the time cond gives once it holds, checking it (under the
// lock) at every message until timeout; late gives the timeout's error.
func (w *routeWatch) until(ctx context.Context, timeout time.Duration, cond func() (time.Time, bool), late func() error) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		at, done := cond()
		ch, err := w.changed, w.err
		w.mu.Unlock()
		if done {
			return at, nil
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("watching %s's routes: %w", w.name, err)
		}
		select {
		case <-ch:
		case <-timer.C:
			w.mu.Lock()
			defer w.mu.Unlock()
			return time.Time{}, late()
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// count6 returns how many IPv6 host routes the router holds.
func (w *routeWatch) count6() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for dst := range w.present {
		if strings.Contains(dst, ":") {
			n++
		}
	}
	return n
}
