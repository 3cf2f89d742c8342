package health

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
)

// TestRunner runs real probes against an HTTP server on the loopback: it
// fails, the Service is gated after fall rounds; it passes again, ungated
// after rise rounds. The waits are bounded, not asserted.
func TestRunner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var healthy atomic.Bool
	healthy.Store(true)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() || r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)

	changed := make(chan struct{}, 16)
	r := NewRunner(RunnerConfig{OnChange: func() { changed <- struct{}{} }, Log: testr.New(t), MaxConcurrent: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	check := Check{Protocol: HTTP, Port: port, Path: "/healthz", Interval: 100 * time.Millisecond, Rise: 2, Fall: 2}
	// A dead address first: a round passes when any address passes.
	dead := netip.MustParseAddr("127.0.0.2")
	r.Set([]Target{{Service: "ns/web", Check: check, Addrs: []netip.Addr{dead, netip.MustParseAddr("127.0.0.1")}}})

	waitGated := func(want bool) State {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			s, gated := r.Gated()["ns/web"]
			if gated == want {
				return s
			}
			select {
			case <-changed:
			case <-time.After(50 * time.Millisecond):
			case <-deadline:
				t.Fatalf("ns/web never became gated=%v", want)
			}
		}
	}
	time.Sleep(5 * check.Interval)
	waitGated(false)
	healthy.Store(false)
	s := waitGated(true)
	if !strings.Contains(s.LastError, "status 503") {
		t.Errorf("gated with last error %q, want the 503", s.LastError)
	}
	healthy.Store(true)
	waitGated(false)

	// A target removed is forgotten: gated, then dropped -> not gated.
	healthy.Store(false)
	waitGated(true)
	r.Set(nil)
	waitGated(false)
}

func TestProbeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	c := Check{Protocol: TCP, Port: port, Interval: time.Second}
	ctx := context.Background()
	if err := Probe(ctx, c, netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Errorf("probe of a listening port: %v", err)
	}
	ln.Close()
	if err := Probe(ctx, c, netip.MustParseAddr("127.0.0.1")); err == nil {
		t.Errorf("probe of a closed port passed")
	}
}
