package controllers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/testenv"
)

// startDualStackAPIServer is an adapter around internal/apitest: it starts
// the same envtest control plane with herald's CRDs, but with a dual-stack
// service CIDR large enough for the thousand-Service restart test
// (apitest.Start keeps envtest's default 10.0.0.0/24, 254 ClusterIPs, IPv4
// only). Both ranges are documentation ranges.
func startDualStackAPIServer(t *testing.T) (*rest.Config, client.Client) {
	t.Helper()
	cfg, c, _ := startDualStackAPIServerKubeconfig(t)
	return cfg, c
}

// startDualStackAPIServerKubeconfig is startDualStackAPIServer, also
// returning an admin kubeconfig for a controller in another process.
func startDualStackAPIServerKubeconfig(t *testing.T) (*rest.Config, client.Client, []byte) {
	t.Helper()
	env := &envtest.Environment{
		BinaryAssetsDirectory:    testenv.ControlPlane(t),
		CRDDirectoryPaths:        []string{apitest.CRDDir(t)},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "198.51.100.0/24,2001:db8:1::/108")
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the test API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the test API server: %v", err)
		}
	})
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatalf("making a client: %v", err)
	}
	apitest.Namespace(t, c, testNS)
	return cfg, c, env.KubeConfig
}

const testNS = "herald-system"

// controllerHandle is one running controller manager.
type controllerHandle struct {
	cancel context.CancelFunc
	done   chan error
	reg    *prometheus.Registry
}

// stop stops the manager and waits for it to return.
func (h *controllerHandle) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("controller manager returned: %v", err)
		}
	case <-time.After(time.Minute):
		t.Errorf("controller manager did not stop within a minute")
	}
}

// startController runs herald's controller (leader-elected, as deployed)
// against cfg until the test ends or stop is called.
func startController(t *testing.T, cfg *rest.Config, opts Options) *controllerHandle {
	t.Helper()
	if opts.Namespace == "" {
		opts.Namespace = testNS
	}
	mopts := ManagerOptions(opts)
	skip := true
	mopts.Controller = ctrlconfig.Controller{SkipNameValidation: &skip}
	mopts.Logger = zap.New(zap.UseDevMode(true), zap.WriteTo(testWriter{t}))
	mopts.Metrics = metricsserver.Options{BindAddress: "0"}
	mopts.HealthProbeBindAddress = "0"
	mopts.LeaderElection = true
	mopts.LeaderElectionID = "herald-controller" + opts.LBClassSuffix()
	mopts.LeaderElectionNamespace = opts.Namespace
	mopts.LeaderElectionReleaseOnCancel = true
	lease, renew, retry := 4*time.Second, 3*time.Second, 500*time.Millisecond
	mopts.LeaseDuration, mopts.RenewDeadline, mopts.RetryPeriod = &lease, &renew, &retry
	mgr, err := manager.New(cfg, mopts)
	if err != nil {
		t.Fatalf("creating the manager: %v", err)
	}
	reg := prometheus.NewRegistry()
	if err := Setup(mgr, opts, reg); err != nil {
		t.Fatalf("setting up the controllers: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &controllerHandle{cancel: cancel, done: make(chan error, 1), reg: reg}
	go func() { h.done <- mgr.Start(ctx) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-h.done
		}
	})
	orig := h.cancel
	h.cancel = func() { stopped = true; orig() }
	return h
}

// LBClassSuffix distinguishes the leader-election Lease of a controller
// serving a class, so that tests can run two controllers side by side.
func (o Options) LBClassSuffix() string {
	if o.LBClass == "" {
		return ""
	}
	return "-class"
}

// testWriter sends the controller's logs to the test log only when -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(string(p))
	}
	return len(p), nil
}

// lbService is a LoadBalancer Service with one TCP port.
func lbService(ns, name string, port int32, mutate ...func(*corev1.Service)) *corev1.Service {
	no := false
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			AllocateLoadBalancerNodePorts: &no,
			Selector:                      map[string]string{"app": name},
			Ports:                         []corev1.ServicePort{{Name: "p", Port: port, Protocol: corev1.ProtocolTCP}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func pool(name string, addrs []string, mutate ...func(*v1beta1.IPAddressPool)) *v1beta1.IPAddressPool {
	p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// onlyNamespace restricts a pool to one namespace, so parallel scenarios
// do not take each other's addresses.
func onlyNamespace(ns string) func(*v1beta1.IPAddressPool) {
	return func(p *v1beta1.IPAddressPool) {
		if p.Spec.ServiceAllocation == nil {
			p.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{}
		}
		p.Spec.ServiceAllocation.Namespaces = []string{ns}
	}
}

func ingressIPs(svc *corev1.Service) []string {
	var out []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		out = append(out, in.IP)
	}
	return out
}

// waitService polls a Service until ok accepts it, failing the test with
// the last state seen otherwise.
func waitService(t *testing.T, c client.Client, ns, name string, what string, ok func(*corev1.Service) bool) *corev1.Service {
	t.Helper()
	var svc corev1.Service
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &svc)
		if err == nil && ok(&svc) {
			return &svc
		}
		if time.Now().After(deadline) {
			cond := meta.FindStatusCondition(svc.Status.Conditions, ConditionIPAllocated)
			t.Fatalf("service %s/%s: waited 30s for %s; last: ips=%v condition=%+v err=%v", ns, name, what, ingressIPs(&svc), cond, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hasIPs waits for the Service to have n IPs and a True condition.
func hasIPs(n int) func(*corev1.Service) bool {
	return func(s *corev1.Service) bool {
		cond := meta.FindStatusCondition(s.Status.Conditions, ConditionIPAllocated)
		return len(s.Status.LoadBalancer.Ingress) == n && cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == s.Generation
	}
}

// failedWith waits for the condition False with this reason.
func failedWith(reason string) func(*corev1.Service) bool {
	return func(s *corev1.Service) bool {
		cond := meta.FindStatusCondition(s.Status.Conditions, ConditionIPAllocated)
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == reason && cond.ObservedGeneration == s.Generation
	}
}

func mustCreate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// update re-reads obj, applies mutate and writes it, retrying on conflicts.
func update[T client.Object](t *testing.T, c client.Client, obj T, mutate func(T)) {
	t.Helper()
	for i := 0; i < 20; i++ {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatalf("reading %s: %v", obj.GetName(), err)
		}
		mutate(obj)
		err := c.Update(context.Background(), obj)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			t.Fatalf("updating %s: %v", obj.GetName(), err)
		}
	}
	t.Fatalf("updating %s: conflicts 20 times", obj.GetName())
}

func inPrefix(t *testing.T, ip, prefix string) bool {
	t.Helper()
	a, err := netip.ParseAddr(ip)
	if err != nil {
		t.Fatalf("status IP %q: %v", ip, err)
	}
	return netip.MustParsePrefix(prefix).Contains(a)
}

// eventReasons lists the reasons of the Events about an object.
func eventReasons(t *testing.T, c client.Client, ns, name string) []string {
	t.Helper()
	var list corev1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing events: %v", err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name {
			out = append(out, e.Reason)
		}
	}
	return out
}

// waitEvent waits until an Event with this reason names the object.
func waitEvent(t *testing.T, c client.Client, ns, name, reason string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range eventReasons(t, c, ns, name) {
			if r == reason {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("no event with reason %s about %s/%s; saw %v", reason, ns, name, eventReasons(t, c, ns, name))
}

var errNotYet = errors.New("not yet")

// eventually retries f for 30s.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

func namespace(t *testing.T, c client.Client, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func fmtIPs(ips []string) string { return fmt.Sprint(ips) }

// createPool creates a pool and waits until the controller has taken it in
// (its Accepted condition is written after the allocator has it).
func createPool(t *testing.T, c client.Client, p *v1beta1.IPAddressPool) {
	t.Helper()
	mustCreate(t, c, p)
	eventually(t, "pool "+p.Name+" accepted", func() error {
		var got v1beta1.IPAddressPool
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(p), &got); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, ConditionPoolAccepted)
		if cond == nil || cond.Status != metav1.ConditionTrue {
			return fmt.Errorf("condition %+v", cond)
		}
		return nil
	})
}

func TestMain(m *testing.M) {
	if kc := os.Getenv(childKubeconfigEnv); kc != "" {
		os.Exit(runChildController(kc))
	}
	// client-go's reflectors log through controller-runtime's root logger.
	ctrllog.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	os.Exit(m.Run())
}

// gauge reads one series of a gauge or counter from reg (-1 when absent).
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}
