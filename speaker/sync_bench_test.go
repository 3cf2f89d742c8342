package speaker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
)

// listReader serves List from fixed lists, as the manager's cache does
// with client.UnsafeDisableDeepCopy (a new slice of the cached objects per
// call). Only BenchmarkSync uses it: a real cache holding 10,000 Services
// would need 20,000 writes to the test API server first.
type listReader struct {
	client.Reader
	items map[reflect.Type]reflect.Value // list type → its Items
}

func newListReader(lists ...client.ObjectList) *listReader {
	r := &listReader{items: map[reflect.Type]reflect.Value{}}
	for _, l := range lists {
		r.items[reflect.TypeOf(l)] = reflect.ValueOf(l).Elem().FieldByName("Items")
	}
	return r
}

func (r *listReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	items := reflect.ValueOf(list).Elem().FieldByName("Items")
	if src, ok := r.items[reflect.TypeOf(list)]; ok {
		items.Set(reflect.AppendSlice(reflect.MakeSlice(src.Type(), 0, src.Len()), src))
	}
	return nil
}

// set replaces the items of list's type.
func (r *listReader) set(list client.ObjectList) {
	r.items[reflect.TypeOf(list)] = reflect.ValueOf(list).Elem().FieldByName("Items")
}

// syncCluster is node1 of three with n dual-stack Services (198.18.0.0/15,
// RFC 2544's benchmarking range, and 2001:db8:300::/64) announced to an
// IPv4 and an IPv6 peer; more is the same with one Service more.
func syncCluster(n int) (base []client.ObjectList, svcs, more *corev1.ServiceList) {
	node := func(name string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	}
	peer := func(name, addr string) v1beta1.BGPPeer {
		return v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
			Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64500, PeerAddress: addr}}
	}
	svc := func(name, v4, v6 string) corev1.Service {
		return corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
				Ports: []corev1.ServicePort{{Port: 80}}},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: v4}, {IP: v6}}}}}
	}
	base = []client.ObjectList{
		&corev1.NodeList{Items: []corev1.Node{node("node1"), node("node2"), node("node3")}},
		&v1beta1.IPAddressPoolList{Items: []v1beta1.IPAddressPool{{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: testNS},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.0.0/15", "2001:db8:300::/64"}}}}},
		&v1beta1.BGPPeerList{Items: []v1beta1.BGPPeer{peer("router", "198.51.100.1"), peer("router6", "2001:db8:100::1")}},
		&v1beta1.BGPAdvertisementList{Items: []v1beta1.BGPAdvertisement{{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: testNS}}}},
	}
	svcs = &corev1.ServiceList{}
	for i := range n {
		v := i + 1
		svcs.Items = append(svcs.Items, svc(fmt.Sprintf("s%d", i),
			fmt.Sprintf("198.%d.%d.%d", 18+v>>16, (v>>8)&255, v&255), fmt.Sprintf("2001:db8:300::%x", v)))
	}
	more = &corev1.ServiceList{Items: append(svcs.Items[:n:n], svc("extra", "198.19.255.254", "2001:db8:300::ffff"))}
	return base, svcs, more
}

// processCPU is the CPU time (user and system) the process has used so
// far: the machine is shared, so wall time measures the neighbours too.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSync measures the speaker's whole reaction to one Service added
// or removed at 10,000 Services, in-process, as Run's goroutine and the
// apply goroutine do it: sync (read the cache, plan, drop host conflicts,
// validate, compare with the last config, offer it, build the NodeState),
// then the apply (hash, Agent.Apply) and its record (prefix counts, the
// NodeState again, not written: see benchSync). FRR's state holds every prefix advertised to both
// peers, as after the follow-up reads of a running node.
//
// speaker: the agent is a fakeAgent (answers at once, with a hash as the
// frr-agent does): the speaker's share.
// speaker+agent: the agent is frragent over its unix socket (JSON, HTTP),
// driving a real FRR (root and FRR needed): the agent's share is counted
// too, FRR's own daemons are not (cpu-ns/op is this process's CPU).
func BenchmarkSync(b *testing.B) {
	const n = 10000
	b.Run(fmt.Sprintf("speaker/services=%d", n), func(b *testing.B) {
		// The agent hashes what it renders: so does the fake here.
		benchSync(b, n, &hashAgent{fakeAgent: &fakeAgent{}, hash: "f63e7042"})
	})
	b.Run(fmt.Sprintf("speaker+agent/services=%d", n), func(b *testing.B) {
		benchSync(b, n, NewAgentClient(benchAgent(b, n)))
	})
}

func benchSync(b *testing.B, n int, agent Agent) {
	base, svcs, more := syncCluster(n)
	reader := newListReader(append(base, svcs)...)
	c := fake.NewClientBuilder().WithScheme(apitest.Scheme(b)).WithStatusSubresource(&v1beta1.NodeState{}).Build()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Node: "node1", Namespace: testNS, Reader: reader, Client: c, Agent: agent, Metrics: m,
		HostAddrs: func() ([]HostAddr, error) { return nil, nil }, Log: logr.Discard(),
		// The NodeState is written once (by the first change), then
		// held back: a write is once per StatusInterval, not per change,
		// and the fake client's copies would cost more than the real
		// client's request. Each change still builds and compares it.
		StatusInterval: time.Hour, ConflictStatusInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// change is one sync and the apply it offers, as Run and applyLoop
	// run them.
	change := func() {
		s.sync(ctx)
		s.queueMu.Lock()
		cfg, ok := s.queue.start()
		s.queueMu.Unlock()
		if !ok {
			b.Fatal("the change offered no FRR config")
		}
		o := s.applyOnce(ctx, cfg)
		if o.status.Result != v1beta1.FRRApplied {
			b.Fatalf("apply: %s: %s %v", o.status.Result, o.status.Message, o.status.RejectedLines)
		}
		s.queueMu.Lock()
		s.queue.done(o.final)
		s.queueMu.Unlock()
		s.record(o)
		s.writeStatus(ctx)
	}
	change()
	// FRR's state as read after the first apply with both sessions up
	// (the FRR of speaker+agent has no peer to talk to).
	st, _ := (&fakeAgent{running: s.applied}).State(ctx)
	s.gotState(st)
	lists := [2]*corev1.ServiceList{svcs, more}
	b.ReportAllocs()
	start := processCPU(b)
	for i := 1; b.Loop(); i++ {
		reader.set(lists[i%2])
		change()
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

// benchAgent starts FRR in a network namespace of its own, booted with the
// config of n Services, and an frr-agent serving it in-process; it returns
// the agent's socket.
func benchAgent(b *testing.B, n int) string {
	testenv.RequireFRR(b)
	base, svcs, _ := syncCluster(n)
	reader := newListReader(append(base, svcs)...)
	snap, err := LoadSnapshot(context.Background(), reader, testNS, "")
	if err != nil {
		b.Fatal(err)
	}
	s := &Speaker{}
	res := s.planner.Plan(&snap, "node1")
	text, err := frrconfig.Render(&res.Config)
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("hxbs%d", rand.N(1_000_000))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		b.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	b.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		b.Fatalf("lo up in %s: %v: %s", name, err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	inst, err := frrproc.Start(ctx, frrproc.Options{Name: name, Netns: name, Config: string(text)})
	if err != nil {
		b.Fatalf("starting FRR: %v", err)
	}
	b.Cleanup(func() { _ = inst.Stop(context.Background()) })
	dir := b.TempDir()
	dryRun := vtysh.NewDryRun("vtysh", name)
	b.Cleanup(func() { dryRun.Close() })
	agent, err := frragent.New(frragent.Options{
		Vtysh:      vtysh.Exec("vtysh", name),
		Reload:     frragent.FRRReload(filepath.Join(testenv.FRRDir, "frr-reload.py"), "vtysh", name, dir),
		ConfigPath: filepath.Join(dir, "frr.conf"),
		VtyDir:     frrproc.RunDir(name),
		DryRun:     dryRun.Check,
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := frragent.Listen(sock)
	if err != nil {
		b.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Serve(srvCtx, ln) }()
	b.Cleanup(func() { stop(); <-done })
	return sock
}
