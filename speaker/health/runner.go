package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// ProbeFunc probes one endpoint address once; nil means it passed.
type ProbeFunc func(ctx context.Context, c Check, addr netip.Addr) error

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Probe probes one address (default Probe).
	Probe ProbeFunc
	// MaxConcurrent bounds the probes in flight at once on this node
	// (default 16).
	MaxConcurrent int
	// OnChange is called (from a worker) when a Service's gate changes.
	OnChange func()
	// Metrics are registered by NewMetrics; nil records nothing.
	Metrics *Metrics
	// Log is the runner's logger.
	Log logr.Logger
}

// Runner runs one worker per Target, each probing its addresses every
// Check.Interval, and keeps each Service's State. Set gives it the targets;
// Run runs the workers until its context ends.
type Runner struct {
	cfg  RunnerConfig
	sem  chan struct{}
	want chan []Target

	mu     sync.Mutex
	states map[string]State
}

// NewRunner returns a Runner; Run starts it.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Probe == nil {
		cfg.Probe = Probe
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 16
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func() {}
	}
	return &Runner{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), want: make(chan []Target, 1), states: map[string]State{}}
}

// Set replaces the targets; it never blocks (the latest set wins).
func (r *Runner) Set(ts []Target) {
	ts = slices.Clone(ts)
	for {
		select {
		case r.want <- ts:
			return
		default:
		}
		select {
		case <-r.want:
		default:
		}
	}
}

// Gated returns the Services this node is gated for, with their state.
func (r *Runner) Gated() map[string]State {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]State{}
	for k, s := range r.states {
		if s.Gated {
			out[k] = s
		}
	}
	return out
}

type worker struct {
	target Target
	cancel context.CancelFunc
	done   chan struct{}
}

// Run runs the workers until ctx ends, then waits for them.
func (r *Runner) Run(ctx context.Context) {
	workers := map[string]*worker{}
	defer func() {
		for _, w := range workers {
			w.cancel()
			<-w.done
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case ts := <-r.want:
			keep := map[string]bool{}
			for _, t := range ts {
				keep[t.Service] = true
				if w := workers[t.Service]; w != nil {
					if w.target.Check == t.Check && slices.Equal(w.target.Addrs, t.Addrs) {
						continue
					}
					w.cancel()
					<-w.done
					if w.target.Check != t.Check {
						// A new check starts healthy again.
						r.forget(t.Service)
					}
				}
				wctx, cancel := context.WithCancel(ctx)
				w := &worker{target: t, cancel: cancel, done: make(chan struct{})}
				workers[t.Service] = w
				go func() {
					defer close(w.done)
					r.work(wctx, w.target)
				}()
			}
			for k, w := range workers {
				if !keep[k] {
					w.cancel()
					<-w.done
					delete(workers, k)
					r.forget(k)
				}
			}
			r.gauge()
		}
	}
}

// forget drops a Service's state; a gated one is reported ungated.
func (r *Runner) forget(svc string) {
	r.mu.Lock()
	s, ok := r.states[svc]
	delete(r.states, svc)
	r.mu.Unlock()
	if ok && s.Gated {
		r.cfg.OnChange()
	}
}

func (r *Runner) gauge() {
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.gated.Set(float64(len(r.Gated())))
	}
}

// work probes t every interval until ctx ends.
func (r *Runner) work(ctx context.Context, t Target) {
	tick := time.NewTicker(t.Check.Interval)
	defer tick.Stop()
	for {
		err := r.round(ctx, t)
		if ctx.Err() != nil {
			return
		}
		r.observe(t, err)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// round probes t's addresses until one passes; the error is the last one's.
func (r *Runner) round(ctx context.Context, t Target) error {
	var errs []error
	for _, a := range t.Addrs {
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		pctx, cancel := context.WithTimeout(ctx, t.Check.Timeout())
		err := r.cfg.Probe(pctx, t.Check, a)
		cancel()
		<-r.sem
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r *Runner) observe(t Target, err error) {
	if err != nil && r.cfg.Metrics != nil {
		r.cfg.Metrics.failures.WithLabelValues(t.Service).Inc()
	}
	r.mu.Lock()
	old := r.states[t.Service]
	s := old.Observe(err, time.Now(), t.Check.Rise, t.Check.Fall)
	r.states[t.Service] = s
	r.mu.Unlock()
	if s.Gated == old.Gated {
		return
	}
	if s.Gated {
		r.cfg.Log.Info("health check failing: not announcing the Service from this node", "service", t.Service, "check", t.Check.String(), "error", s.LastError)
	} else {
		r.cfg.Log.Info("health check passing again: announcing the Service from this node", "service", t.Service, "check", t.Check.String())
	}
	r.gauge()
	r.cfg.OnChange()
}

// Probe probes addr once with c: a TCP connection, or an HTTP GET whose
// answer must be 2xx or 3xx (redirects are not followed). ctx bounds it.
func Probe(ctx context.Context, c Check, addr netip.Addr) error {
	hostport := net.JoinHostPort(addr.String(), strconv.Itoa(int(c.Port)))
	var d net.Dialer
	if c.Protocol == TCP {
		conn, err := d.DialContext(ctx, "tcp", hostport)
		if err != nil {
			return fmt.Errorf("tcp %s: %w", hostport, err)
		}
		return conn.Close()
	}
	client := &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := "http://" + hostport + c.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("http %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "herald-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("http %s: %w", url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("http %s: status %d", url, resp.StatusCode)
	}
	return nil
}
