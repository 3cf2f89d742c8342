package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The bench's watches: the Services' addresses (an API watch), the
// router's FIB and the switch's links (`ip monitor`). Every time the bench
// reports is an event's, read as it came, never a poll's.

// svcWatch follows the LoadBalancer Services of svcNS with a watch,
// recording each one's first ingress address.
type svcWatch struct {
	mu      sync.Mutex
	ip      map[string]string
	changed chan struct{}
}

// watchServices watches svcNS's Services until ctx ends, starting a new
// watch when the API server ends one.
func watchServices(ctx context.Context, c client.WithWatch) (*svcWatch, error) {
	w := &svcWatch{ip: map[string]string{}, changed: make(chan struct{})}
	start := func() (watch.Interface, error) {
		return c.Watch(ctx, &corev1.ServiceList{}, client.InNamespace(svcNS))
	}
	wi, err := start()
	if err != nil {
		return nil, fmt.Errorf("watching Services: %w", err)
	}
	go func() {
		for ctx.Err() == nil {
			for ev := range wi.ResultChan() {
				if svc, ok := ev.Object.(*corev1.Service); ok {
					w.event(ev.Type, svc)
				}
			}
			// A new watch begins with every Service as added: nothing
			// is missed while it restarts.
			for ctx.Err() == nil {
				next, err := start()
				if err == nil {
					wi = next
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	return w, nil
}

// event records one watch event.
func (w *svcWatch) event(t watch.EventType, svc *corev1.Service) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case t == watch.Deleted:
		delete(w.ip, svc.Name)
	case len(svc.Status.LoadBalancer.Ingress) > 0:
		w.ip[svc.Name] = svc.Status.LoadBalancer.Ingress[0].IP
	default:
		return
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// address returns name's address ("" if none yet) and a channel closed at
// the next change.
func (w *svcWatch) address(name string) (string, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ip[name], w.changed
}

// fibWatch follows the router's kernel routes with `ip -o monitor route`,
// recording when each host route last appeared and was last deleted, and
// each present route's last message (its next hops) and when it came.
type fibWatch struct {
	mu      sync.Mutex
	added   map[string]time.Time
	deleted map[string]time.Time
	present map[string]bool
	last    map[string]string
	lastAt  map[string]time.Time
	changed chan struct{}
}

// watchFIB starts `ip -n netns monitor route` until ctx ends.
func watchFIB(ctx context.Context, netns string) (*fibWatch, error) {
	w := &fibWatch{added: map[string]time.Time{}, deleted: map[string]time.Time{}, present: map[string]bool{},
		last: map[string]string{}, lastAt: map[string]time.Time{}, changed: make(chan struct{})}
	return w, ipMonitor(ctx, netns, "route", w.line)
}

// ipMonitor starts `ip -o -n netns monitor object` until ctx ends and hands
// each line to line with the time it was read. -o prints one line per
// message, multipath next hops included.
func ipMonitor(ctx context.Context, netns, object string, line func(at time.Time, l string)) error {
	cmd := exec.CommandContext(ctx, "ip", "-o", "-n", netns, "monitor", object)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting ip monitor %s in %s: %w", object, netns, err)
	}
	go func() {
		defer func() { _ = cmd.Wait() }()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line(time.Now(), sc.Text())
		}
	}()
	return nil
}

// line records one line of `ip monitor route`: "192.0.2.5 nhid 40 proto
// bgp metric 20", "Deleted 192.0.2.5 nhid ...", "2001:db8:200::5 nhid ...".
func (w *fibWatch) line(at time.Time, l string) {
	f := strings.Fields(l)
	if len(f) < 2 || !strings.Contains(l, "proto bgp") {
		return
	}
	del := f[0] == "Deleted"
	if del {
		f = f[1:]
	}
	dst := strings.TrimSuffix(strings.TrimSuffix(f[0], "/32"), "/128")
	w.mu.Lock()
	defer w.mu.Unlock()
	if del {
		w.deleted[dst] = at
		delete(w.present, dst)
		delete(w.last, dst)
	} else {
		if !w.present[dst] {
			// The first route: later lines replace its next hops.
			w.added[dst] = at
			w.present[dst] = true
		}
		// A space after the last address, as in the polled form.
		w.last[dst], w.lastAt[dst] = strings.ReplaceAll(l, "\\", " ")+" ", at
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitAdded returns when ip's route was added at or after since.
func (w *fibWatch) waitAdded(ctx context.Context, ip string, since time.Time, timeout time.Duration) (time.Time, error) {
	return w.wait(ctx, ip, since, timeout, w.added, "added")
}

// waitDeleted returns when ip's route was deleted at or after since.
func (w *fibWatch) waitDeleted(ctx context.Context, ip string, since time.Time, timeout time.Duration) (time.Time, error) {
	return w.wait(ctx, ip, since, timeout, w.deleted, "deleted")
}

func (w *fibWatch) wait(ctx context.Context, ip string, since time.Time, timeout time.Duration, m map[string]time.Time, what string) (time.Time, error) {
	return w.until(ctx, timeout, func() (time.Time, bool) {
		at, ok := m[ip]
		return at, ok && !at.Before(since)
	}, func() error {
		return fmt.Errorf("the router's route to %s was not %s within %s (present: %v, its last message: %q)", ip, what, timeout, w.present[ip], w.last[ip])
	})
}

// waitRoute returns when a message at or after since gave ip's route next
// hops for which ok holds.
func (w *fibWatch) waitRoute(ctx context.Context, ip string, since time.Time, timeout time.Duration, ok func(string) bool) (time.Time, error) {
	var last string
	return w.until(ctx, timeout, func() (time.Time, bool) {
		last = w.last[ip]
		at := w.lastAt[ip]
		return at, last != "" && !at.Before(since) && ok(last)
	}, func() error {
		return fmt.Errorf("no message changed the router's route to %s as expected within %s (last: %q)", ip, timeout, last)
	})
}

// until returns the time cond gives once it holds, checking it (under the
// lock) at every message until timeout; late gives the timeout's error.
func (w *fibWatch) until(ctx context.Context, timeout time.Duration, cond func() (time.Time, bool), late func() error) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		at, done := cond()
		ch := w.changed
		w.mu.Unlock()
		if done {
			return at, nil
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
func (w *fibWatch) count6() int {
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

// linkWatch follows a namespace's links with `ip -o monitor link`,
// recording when each last went administratively down.
type linkWatch struct {
	mu      sync.Mutex
	down    map[string]time.Time
	isDown  map[string]bool
	changed chan struct{}
}

// watchLinks starts `ip -o -n netns monitor link` until ctx ends.
func watchLinks(ctx context.Context, netns string) (*linkWatch, error) {
	w := &linkWatch{down: map[string]time.Time{}, isDown: map[string]bool{}, changed: make(chan struct{})}
	return w, ipMonitor(ctx, netns, "link", w.line)
}

// line records one line of `ip -o monitor link`: "4: n3@if5:
// <BROADCAST,MULTICAST> mtu 1500 master lan state DOWN ...". A link whose
// flags lack UP is down; the first such line after it was up is when.
func (w *linkWatch) line(at time.Time, l string) {
	f := strings.Fields(l)
	if len(f) < 3 || f[0] == "Deleted" || !strings.HasPrefix(f[2], "<") {
		return
	}
	name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
	up := slices.Contains(strings.Split(strings.Trim(f[2], "<>"), ","), "UP")
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case up:
		w.isDown[name] = false
	case !w.isDown[name]:
		w.isDown[name] = true
		w.down[name] = at
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitDown returns when link name went down at or after since.
func (w *linkWatch) waitDown(ctx context.Context, name string, since time.Time, timeout time.Duration) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		at, ok := w.down[name]
		ch := w.changed
		w.mu.Unlock()
		if ok && !at.Before(since) {
			return at, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return time.Time{}, fmt.Errorf("ip monitor link did not report %s down within %s", name, timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}
