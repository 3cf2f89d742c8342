package main

import (
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

// The bench's watches: the Services' addresses (an API watch) and the
// switch's links (`ip monitor`); the routers' are in routes.go. Every time the bench
// reports is an event's, read as it came, never a poll's.

// svcWatch follows the LoadBalancer Services of svcNS with a watch,
// recording each one's ingress addresses.
type svcWatch struct {
	mu      sync.Mutex
	ips     map[string][]string
	changed chan struct{}
}

// watchServices watches svcNS's Services until ctx ends, starting a new
// watch when the API server ends one.
func watchServices(ctx context.Context, c client.WithWatch) (*svcWatch, error) {
	w := &svcWatch{ips: map[string][]string{}, changed: make(chan struct{})}
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
		delete(w.ips, svc.Name)
	case len(svc.Status.LoadBalancer.Ingress) > 0:
		var ips []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			ips = append(ips, in.IP)
		}
		w.ips[svc.Name] = ips
	default:
		return
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// addresses returns name's addresses (none yet: nil) and a channel closed
// at the next change.
func (w *svcWatch) addresses(name string) ([]string, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ips[name], w.changed
}

// ipMonitor starts `ip -o -n netns monitor object` until ctx ends and hands
// each line to line with the time it was read; stopped (if not nil) gets
// why it ended before ctx did. -o prints one line per message, multipath
// next hops included.
func ipMonitor(ctx context.Context, netns, object string, line func(at time.Time, l string), stopped func(error)) error {
	cmd := exec.CommandContext(ctx, "ip", "-o", "-n", netns, "monitor", object)
	if err := lines(ctx, cmd, line, stopped); err != nil {
		return fmt.Errorf("starting ip monitor %s in %s: %w", object, netns, err)
	}
	return nil
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
	return w, ipMonitor(ctx, netns, "link", w.line, nil)
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
