package speaker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
)

// gatedAgent is a fakeAgent whose applies wait for a token on gate, so a
// test holds an apply in flight.
type gatedAgent struct {
	*fakeAgent
	started chan int64 // the generation of each apply, when it starts
	gate    chan struct{}
}

func (g *gatedAgent) Apply(ctx context.Context, gen int64, cfg *frrconfig.Config) (ApplyResult, error) {
	g.started <- gen
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ApplyResult{}, ctx.Err()
	}
	return g.fakeAgent.Apply(ctx, gen, cfg)
}

// modelWith is a config announcing the given IPv4 host routes.
func modelWith(ips ...string) *frrconfig.Config {
	r := frrconfig.Router{ASN: 64512}
	for _, ip := range ips {
		r.IPv4Networks = append(r.IPv4Networks, netip.PrefixFrom(netip.MustParseAddr(ip), 32))
	}
	return &frrconfig.Config{Routers: []frrconfig.Router{r}}
}

// TestApplyLoop: configs offered while an apply is in flight replace each
// other, only the newest is applied next, and every outcome reaches Run's
// side with its generation.
func TestApplyLoop(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(Scheme()).Build()
	agent := &gatedAgent{fakeAgent: &fakeAgent{}, started: make(chan int64, 10), gate: make(chan struct{})}
	s, err := New(Config{Node: "node1", Reader: c, Client: c, Agent: agent, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.applyLoop(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	wait := func(what string) applyOutcome {
		t.Helper()
		select {
		case o := <-s.outcomes:
			return o
		case <-time.After(10 * time.Second):
			t.Fatalf("no outcome for %s", what)
		}
		return applyOutcome{}
	}
	started := func(want int64) {
		t.Helper()
		select {
		case gen := <-agent.started:
			if gen != want {
				t.Fatalf("apply of generation %d started, want %d", gen, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("apply of generation %d did not start", want)
		}
	}

	s.offer(modelWith("192.0.2.1"))
	started(1)
	// Offers while generation 1 is in flight never block, and only the
	// last of them is applied.
	s.offer(modelWith("192.0.2.1", "192.0.2.2"))
	s.offer(modelWith("192.0.2.1", "192.0.2.2", "192.0.2.3"))
	agent.gate <- struct{}{}
	if o := wait("generation 1"); o.status.Generation != 1 || o.status.Result != v1beta1.FRRApplied || len(o.cfg.Routers[0].IPv4Networks) != 1 {
		t.Fatalf("outcome %+v, want generation 1 applied with one prefix", o.status)
	}
	started(2)
	agent.gate <- struct{}{}
	o := wait("generation 2")
	if n := len(o.cfg.Routers[0].IPv4Networks); o.status.Generation != 2 || n != 3 {
		t.Fatalf("generation %d applied %d prefixes, want generation 2 with the newest config (3)", o.status.Generation, n)
	}
	if n := agent.count(); n != 2 {
		t.Errorf("%d applies, want 2 (the middle config was replaced before it started)", n)
	}
	select {
	case gen := <-agent.started:
		t.Errorf("apply of generation %d started with nothing offered", gen)
	default:
	}
}

// hashAgent is a fakeAgent whose results carry hash, as the frr-agent's do.
type hashAgent struct {
	*fakeAgent
	hash string
}

func (h *hashAgent) Apply(ctx context.Context, gen int64, cfg *frrconfig.Config) (ApplyResult, error) {
	res, err := h.fakeAgent.Apply(ctx, gen, cfg)
	if err == nil {
		res.Hash = h.hash
	}
	return res, err
}

// TestApplyHash: the NodeState's hash is the agent's when it gives one;
// the speaker hashes the rendered config itself only when the agent gave
// none or could not be reached.
func TestApplyHash(t *testing.T) {
	cfg := modelWith("192.0.2.1")
	text, err := frrconfig.Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(text)
	rendered := hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		name        string
		agentHash   string
		fail        bool
		want        string
		wantRunning string
	}{
		{name: "the agent's", agentHash: "0123abcd", want: "0123abcd", wantRunning: "0123abcd"},
		{name: "none from the agent", want: rendered, wantRunning: rendered},
		{name: "agent unreachable", fail: true, want: rendered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(Scheme()).Build()
			agent := &hashAgent{fakeAgent: &fakeAgent{}, hash: tc.agentHash}
			if tc.fail {
				agent.fail = 1
			}
			s, err := New(Config{Node: "node1", Reader: c, Client: c, Agent: agent, Log: testr.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			o := s.applyOnce(context.Background(), cfg)
			if o.status.Hash != tc.want || o.status.RunningHash != tc.wantRunning {
				t.Errorf("hash %q, running hash %q; want %q, %q", o.status.Hash, o.status.RunningHash, tc.want, tc.wantRunning)
			}
		})
	}
}
