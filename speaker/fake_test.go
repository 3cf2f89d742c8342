package speaker

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
)

// fakeAgent records applies and reports every neighbor of the config FRR
// runs as Established, advertising what the config gives it. It is written
// by the speaker's goroutine and read by the test: mu guards everything.
type fakeAgent struct {
	mu      sync.Mutex
	applies []frrconfig.Config
	running *frrconfig.Config
	// reject makes Apply reject configs for which it returns true.
	reject func(*frrconfig.Config) bool
	// fail makes the next n applies fail as if the agent were unreachable.
	fail int
}

func (f *fakeAgent) Apply(_ context.Context, gen int64, cfg *frrconfig.Config) (ApplyResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *cfg
	f.applies = append(f.applies, c)
	if f.fail > 0 {
		f.fail--
		return ApplyResult{}, errors.New("dial unix /run/frr-agent.sock: connection refused")
	}
	if f.reject != nil && f.reject(cfg) {
		return ApplyResult{Result: v1beta1.FRRRejected, Method: v1beta1.FRRReload, Duration: 3 * time.Millisecond,
			Rejected: []vtysh.RejectedLine{{Line: 12, Text: "neighbor 198.51.100.1 bogus", Error: "% Unknown command"}}}, nil
	}
	f.running = &c
	return ApplyResult{Result: v1beta1.FRRApplied, Method: v1beta1.FRRIncremental, Duration: 2 * time.Millisecond}, nil
}

func (f *fakeAgent) State(context.Context) (AgentState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var st AgentState
	if f.running == nil {
		return st, nil
	}
	for _, r := range f.running.Routers {
		vrf := r.VRF
		if vrf == "" {
			vrf = "default"
		}
		for _, n := range r.Neighbors {
			key := n.Address.String()
			var ps []netip.Prefix
			for _, a := range n.Advertise {
				ps = append(ps, a.Prefix)
			}
			st.Sessions = append(st.Sessions, vtysh.BGPSession{VRF: vrf, Peer: key, State: "Established", Established: true,
				Uptime: time.Minute, PrefixesSent: len(ps)})
			if n.BFD {
				st.BFDPeers = append(st.BFDPeers, vtysh.BFDPeer{Peer: key, VRF: vrf, Status: "up", Up: true,
					Configured: vtysh.BFDIntervals{Receive: 50, Transmit: 50, DetectMultiplier: 3}})
			}
			st.Advertised = append(st.Advertised, Advertised{VRF: vrf, Peer: key, Prefixes: ps})
		}
	}
	return st, nil
}

func (f *fakeAgent) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.applies)
}

func (f *fakeAgent) last() (frrconfig.Config, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.applies) == 0 {
		return frrconfig.Config{}, false
	}
	return f.applies[len(f.applies)-1], true
}

// advertised returns the prefixes the last applied config gives neighbor
// addr.
func (f *fakeAgent) advertised(addr string) []string {
	c, ok := f.last()
	if !ok {
		return nil
	}
	var out []string
	for _, r := range c.Routers {
		for _, n := range r.Neighbors {
			if n.Address.String() != addr {
				continue
			}
			for _, a := range n.Advertise {
				out = append(out, a.Prefix.String())
			}
		}
	}
	slices.Sort(out)
	return out
}

func clientKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
