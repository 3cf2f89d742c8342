package speaker

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/speaker/l2"
)

// fakeL2 records the Services it is given and answers for the IPs whose
// first eligible node is this one, on eth1. mu guards it: the speaker's
// goroutine writes, the test reads.
type fakeL2 struct {
	mu       sync.Mutex
	node     string
	services []l2.Service
	sockErr  error
}

func (f *fakeL2) SocketError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sockErr
}

func (f *fakeL2) setSocketError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sockErr = err
}

func (f *fakeL2) SetServices(s []l2.Service) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services = s
}

func (f *fakeL2) Status() []l2.Announced {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []l2.Announced
	for _, s := range f.services {
		if len(s.Nodes) > 0 && s.Nodes[0] == f.node {
			out = append(out, l2.Announced{IP: s.IP, Interface: "eth1"})
		}
	}
	return out
}

func (f *fakeL2) get() []l2.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.services
}

// TestSpeakerL2 runs the speaker with Layer 2 mode, with BGP on (a fake
// agent) and off (no agent: --bgp=false, no FRR beside the speaker).
func TestSpeakerL2(t *testing.T) {
	for _, tc := range []struct {
		name  string
		agent Agent
	}{
		{name: "with BGP", agent: &fakeAgent{}},
		{name: "BGP off", agent: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, c := apitest.Start(t)
			cluster(t, c)
			mustCreate(t, c, &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lan", Namespace: testNS},
				Spec: v1beta1.L2AdvertisementSpec{Interfaces: []v1beta1.InterfaceName{"eth1"}}})
			lbService(t, c, "web", "192.0.2.10")

			opts := ManagerOptions("node1", testNS)
			opts.Metrics = metricsserver.Options{BindAddress: "0"}
			mgr, err := manager.New(cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			fl2 := &fakeL2{node: "node1"}
			ctx, cancel := context.WithCancel(context.Background())
			if _, err := Setup(ctx, mgr, Config{Node: "node1", Namespace: testNS, Agent: tc.agent, L2: fl2, Metrics: m,
				L2Interval: 50 * time.Millisecond}); err != nil {
				cancel()
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- mgr.Start(ctx) }()
			stopped := false
			stop := func() {
				if !stopped {
					stopped = true
					cancel()
					if err := <-done; err != nil {
						t.Errorf("the speaker's manager ended with %v", err)
					}
				}
			}
			t.Cleanup(stop)

			want := []l2.Service{{IP: netip.MustParseAddr("192.0.2.10"), Nodes: []string{"node1", "node2", "node3"}, Interfaces: []string{"eth1"}}}
			eventually(t, "the L2 services", func() bool {
				return cmp.Equal(want, fl2.get(), cmpopts.EquateComparable(netip.Addr{}))
			})
			eventually(t, "NodeState lists the L2 announcement", func() bool {
				st := nodeState(t, c).Status
				return cmp.Equal(st.L2Announcements, []v1beta1.L2Announcement{{IP: "192.0.2.10", Interface: "eth1"}})
			})
			l2Ready := func() *metav1.Condition {
				return meta.FindStatusCondition(nodeState(t, c).Status.Conditions, ConditionL2Ready)
			}
			eventually(t, "NodeState says L2 is ready", func() bool {
				c := l2Ready()
				return c != nil && c.Status == metav1.ConditionTrue
			})
			// Its raw sockets refused, the node says so in its NodeState.
			fl2.setSocketError(errors.New("opening ARP socket on eth1: operation not permitted"))
			eventually(t, "NodeState says L2 cannot answer", func() bool {
				c := l2Ready()
				return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "SocketError" && strings.Contains(c.Message, "operation not permitted")
			})
			if tc.agent != nil {
				eventually(t, "NodeState reports the FRR apply", func() bool { return nodeState(t, c).Status.FRR != nil })
			} else if st := nodeState(t, c).Status; st.FRR != nil {
				t.Errorf("with BGP off, NodeState reports an FRR config: %+v", st.FRR)
			}
			stop() // with BGP off, shutting down withdraws nothing and returns at once
		})
	}
}

// TestNewNeedsAMode checks that a speaker with neither BGP (an agent) nor
// Layer 2 is refused, and one with either is not.
func TestNewNeedsAMode(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(Scheme()).Build()
	for _, tc := range []struct {
		name    string
		agent   Agent
		l2      L2
		wantErr string
	}{
		{name: "BGP and L2", agent: &fakeAgent{}, l2: &fakeL2{}},
		{name: "BGP only", agent: &fakeAgent{}},
		{name: "L2 only", l2: &fakeL2{}},
		{name: "neither", wantErr: "neither BGP (an FRR agent) nor Layer 2 mode is on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Node: "node1", Namespace: testNS, Reader: c, Client: c, Agent: tc.agent, L2: tc.l2})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.wantErr == "") != (got == "") || !strings.Contains(got, tc.wantErr) {
				t.Errorf("New: error %q, want one containing %q", got, tc.wantErr)
			}
		})
	}
}
