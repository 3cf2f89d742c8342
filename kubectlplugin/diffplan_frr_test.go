package kubectlplugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
	"github.com/heraldlb/herald/speaker"
)

// The edit TestDiffPredictsWhatTheSpeakerApplies plans and then applies: the
// pool shrinks (web/one's IP moves), a new Service arrives, and the
// advertisement's communities change.
const predictEdit = `
apiVersion: heraldlb.io/v1beta1
kind: IPAddressPool
metadata: {name: lab}
spec: {addresses: [192.0.2.32/28]}
---
apiVersion: heraldlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: all}
spec: {communities: ["64512:300"], localPref: 120}
---
apiVersion: v1
kind: Service
metadata: {name: two, namespace: web}
spec:
  type: LoadBalancer
  ports: [{port: 443, protocol: TCP}]
`

// TestDiffPredictsWhatTheSpeakerApplies plans an edit with diff -f's code
// (Load, ReadEdits, PlanEdits) on a real API server, then applies the edit
// and lets herald's real controller allocate and herald's real speaker,
// through a real frr-agent, apply the config to a real FRR: the frr.conf the
// agent writes must be byte for byte the one diff -f predicted, and the
// Services' IPs those it predicted.
func TestDiffPredictsWhatTheSpeakerApplies(t *testing.T) {
	testenv.RequireFRR(t)
	cfg, c := apitest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	apitest.Namespace(t, c, heraldNS)
	apitest.Namespace(t, c, "web")
	create(t, ctx, c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}})
	create(t, ctx, c, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: heraldNS},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/26"}}})
	create(t, ctx, c, &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: heraldNS},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64512, PeerAddress: "198.51.100.1"}})
	create(t, ctx, c, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: heraldNS},
		Spec: v1beta1.BGPAdvertisementSpec{Communities: []v1beta1.CommunityOrAlias{"64512:100"}}})
	create(t, ctx, c, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "one", Namespace: "web"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}})

	confPath := startNodeFRR(t)
	runController(t, ctx, cfg)
	runSpeaker(t, ctx, cfg, confPath)

	// Settled before the edit: web/one has an IP and FRR runs its config.
	var one corev1.Service
	waitFor(t, ctx, "web/one gets an IP", func() bool {
		return c.Get(ctx, client.ObjectKey{Namespace: "web", Name: "one"}, &one) == nil && len(one.Status.LoadBalancer.Ingress) == 1
	})
	snap, err := Load(ctx, c, LoadOptions{Namespace: heraldNS, Secrets: true, Namespaces: true})
	if err != nil {
		t.Fatal(err)
	}
	edits, err := ReadEdits("edit.yaml", []byte(predictEdit), heraldNS, "default")
	if err != nil {
		t.Fatal(err)
	}
	report, err := PlanEdits(snap, edits)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Nodes) != 1 || report.Nodes[0].Node != "node1" || report.Nodes[0].ConfigDiff == "" {
		t.Fatalf("diff -f predicts %+v, want node1's frr.conf to change", report.Nodes)
	}
	want := report.Nodes[0].After
	t.Logf("diff -f predicts, for node1:\n%s", report.Nodes[0].ConfigDiff)
	wantIPs := map[string]string{}
	for _, a := range report.Allocations {
		if len(a.After) == 1 {
			wantIPs[a.Service] = a.After[0].String()
		}
	}
	if len(wantIPs) != 2 {
		t.Fatalf("diff -f predicts allocations %+v, want web/one moved and web/two allocated", report.Allocations)
	}

	// Apply the edit as kubectl apply would.
	for _, e := range edits {
		obj := e.Object.(client.Object)
		if e.New {
			create(t, ctx, c, obj)
			continue
		}
		live := obj.DeepCopyObject().(client.Object)
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			t.Fatal(err)
		}
		obj.SetResourceVersion(live.GetResourceVersion())
		if err := c.Update(ctx, obj); err != nil {
			t.Fatalf("applying %s: %v", e, err)
		}
	}
	var got string
	waitFor(t, ctx, "the speaker applies the predicted frr.conf", func() bool {
		b, err := os.ReadFile(confPath)
		got = string(b)
		return err == nil && got == want
	}, func() string {
		return "frr.conf differs from diff -f's prediction (-predicted +applied):\n" + cmp.Diff(want, got)
	})
	for svc, ip := range wantIPs {
		ns, name, _ := cutKey(svc)
		var s corev1.Service
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Status.LoadBalancer.Ingress) != 1 || s.Status.LoadBalancer.Ingress[0].IP != ip {
			t.Errorf("%s holds %+v, diff -f predicted %s", svc, s.Status.LoadBalancer.Ingress, ip)
		}
	}
	// The speaker reports the config it applied: the hash of the predicted
	// text.
	sum := sha256.Sum256([]byte(want))
	wantHash := hex.EncodeToString(sum[:])
	var ns v1beta1.NodeState
	waitFor(t, ctx, "node1's NodeState reports the predicted config applied", func() bool {
		return c.Get(ctx, client.ObjectKey{Name: "node1"}, &ns) == nil && ns.Status.FRR != nil &&
			ns.Status.FRR.Result == v1beta1.FRRApplied && ns.Status.FRR.Hash == wantHash
	}, func() string {
		return fmt.Sprintf("NodeState FRR %+v, want Applied with hash %s", ns.Status.FRR, wantHash)
	})
}

func cutKey(k string) (string, string, bool) {
	for i := range k {
		if k[i] == '/' {
			return k[:i], k[i+1:], true
		}
	}
	return "", k, false
}

// waitFor polls cond until it holds or ctx ends; why, if given, explains a
// failure.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool, why ...func() string) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			msg := ""
			for _, w := range why {
				msg = w()
			}
			t.Fatalf("waiting until %s: %v\n%s", what, ctx.Err(), msg)
		case <-tick.C:
		}
	}
}

// startNodeFRR starts FRR in a network namespace of its own, driven by an
// in-process frr-agent, and returns the frr.conf the agent writes; the
// agent's socket is beside it, agent.sock.
func startNodeFRR(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("hxkp%d", rand.N(1_000_000))
	for _, args := range [][]string{{"ip", "netns", "add", name}, {"ip", "-n", name, "link", "set", "lo", "up"}} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inst, err := frrproc.Start(ctx, frrproc.Options{Name: name, Netns: name})
	if err != nil {
		t.Fatalf("starting FRR: %v", err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(context.Background()); err != nil {
			t.Errorf("stopping FRR: %v", err)
		}
	})
	dir := t.TempDir()
	dryRun := vtysh.NewDryRun("vtysh", inst.Name())
	t.Cleanup(func() { dryRun.Close() })
	agent, err := frragent.New(frragent.Options{
		Vtysh:      vtysh.Exec("vtysh", inst.Name()),
		Reload:     frragent.FRRReload(filepath.Join(testenv.FRRDir, "frr-reload.py"), "vtysh", inst.Name(), dir),
		ConfigPath: filepath.Join(dir, "frr.conf"),
		VtyDir:     frrproc.RunDir(inst.Name()),
		DryRun:     dryRun.Check,
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := frragent.Listen(filepath.Join(dir, "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Serve(srvCtx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return filepath.Join(dir, "frr.conf")
}

// runController runs herald's controller in-process until the test ends.
func runController(t *testing.T, ctx context.Context, cfg *rest.Config) {
	t.Helper()
	opts := controllers.Options{Namespace: heraldNS}
	mopts := controllers.ManagerOptions(opts)
	skip := true
	mopts.Controller = ctrlconfig.Controller{SkipNameValidation: &skip}
	mopts.Metrics = metricsserver.Options{BindAddress: "0"}
	mopts.HealthProbeBindAddress = "0"
	mgr, err := manager.New(cfg, mopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := controllers.Setup(mgr, opts, prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	startManager(t, ctx, mgr)
}

// runSpeaker runs herald's speaker for node1 in-process, with the agent
// beside confPath, until the test ends.
func runSpeaker(t *testing.T, ctx context.Context, cfg *rest.Config, confPath string) {
	t.Helper()
	mopts := speaker.ManagerOptions("node1", heraldNS)
	skip := true
	mopts.Controller = ctrlconfig.Controller{SkipNameValidation: &skip}
	mopts.Metrics = metricsserver.Options{BindAddress: "0"}
	mgr, err := manager.New(cfg, mopts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := speaker.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	sc := speaker.Config{Node: "node1", Namespace: heraldNS, Agent: speaker.NewAgentClient(filepath.Join(filepath.Dir(confPath), "agent.sock")),
		Metrics: m, RetryInterval: 100 * time.Millisecond, StateInterval: 200 * time.Millisecond, Log: testr.New(t)}
	if _, err := speaker.Setup(ctx, mgr, sc); err != nil {
		t.Fatal(err)
	}
	startManager(t, ctx, mgr)
}

func startManager(t *testing.T, ctx context.Context, mgr manager.Manager) {
	t.Helper()
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}
