package controllers

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// childKubeconfigEnv, when set, makes the test binary run herald's
// controller against that kubeconfig instead of the tests (see TestMain), so
// that TestRestart can SIGKILL a real controller process.
const childKubeconfigEnv = "HERALD_TEST_CONTROLLER_KUBECONFIG"

// runChildController runs the controller as `herald controller` does, with
// leader election, until SIGTERM or SIGKILL.
func runChildController(kubeconfig string) int {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child controller:", err)
		return 1
	}
	cfg.QPS, cfg.Burst = 200, 400
	opts := Options{Namespace: testNS}
	mopts := ManagerOptions(opts)
	mopts.Logger = zap.New(zap.WriteTo(os.Stderr))
	mopts.Metrics = metricsserver.Options{BindAddress: "0"}
	mopts.HealthProbeBindAddress = "0"
	mopts.LeaderElection = true
	mopts.LeaderElectionID = "herald-controller"
	mopts.LeaderElectionNamespace = testNS
	// Renewals have 4 s: under -race on a loaded 2-core CI machine a 2 s
	// deadline was missed, and a controller that loses its Lease exits.
	lease, renew, retry := 6*time.Second, 4*time.Second, 500*time.Millisecond
	mopts.LeaseDuration, mopts.RenewDeadline, mopts.RetryPeriod = &lease, &renew, &retry
	mgr, err := manager.New(cfg, mopts)
	if err == nil {
		err = Setup(mgr, opts, prometheus.NewRegistry())
	}
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		err = mgr.Start(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child controller:", err)
		return 1
	}
	return 0
}

// child is a controller child process.
type child struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	stopped bool // by kill: no restart
}

// startChild starts the controller in a child process.
func startChild(t *testing.T, kubeconfig string) *child {
	t.Helper()
	ch := &child{}
	ch.mu.Lock()
	err := ch.start(kubeconfig)
	ch.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ch.kill)
	return ch
}

// start starts the process; ch.mu is held.
func (ch *child) start(kubeconfig string) error {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childKubeconfigEnv+"="+kubeconfig)
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the controller process: %w", err)
	}
	ch.cmd = cmd
	return nil
}

// supervise restarts the child whenever it exits before kill, as the
// kubelet restarts a container, and logs each restart (a controller that
// loses its Lease exits by design).
func (ch *child) supervise(t *testing.T, kubeconfig string) {
	go func() {
		for {
			ch.mu.Lock()
			cmd := ch.cmd
			ch.mu.Unlock()
			st, _ := cmd.Process.Wait()
			ch.mu.Lock()
			if ch.stopped {
				ch.mu.Unlock()
				return
			}
			t.Logf("the controller process exited (%v); restarting it, as the kubelet would", st)
			err := ch.start(kubeconfig)
			ch.mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
}

// kill SIGKILLs the child; a supervised one stays dead.
func (ch *child) kill() {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.stopped = true
	_ = ch.cmd.Process.Kill()
	_, _ = ch.cmd.Process.Wait()
}

// TestRestart kills the controller (SIGKILL, a real process) while 1,000
// Services are being created by 8 concurrent clients, starts a new one, and
// checks that every Service ends with exactly one IP per family, that no IP
// seen before the kill changed, and that no IP is held twice.
func TestRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,000 Services")
	}
	_, c, kc := startDualStackAPIServerKubeconfig(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	namespace(t, c, "apps", nil)
	mustCreate(t, c, pool("dual", []string{"192.0.2.0/24", "2001:db8:200::/112"}))
	first := startChild(t, kubeconfig)

	const n, clients = 1000, 8
	require := corev1.IPFamilyPolicyRequireDualStack
	single := corev1.IPFamilyPolicySingleStack
	families := func(i int) int {
		if i%5 == 0 {
			return 2
		}
		return 1
	}
	var next, created atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				svc := lbService("apps", fmt.Sprintf("svc-%04d", i), 80, func(s *corev1.Service) {
					if families(i) == 2 {
						s.Spec.IPFamilyPolicy = &require
					} else {
						s.Spec.IPFamilyPolicy = &single
						s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
					}
				})
				if err := c.Create(ctx, svc); err != nil {
					errs <- fmt.Errorf("creating %s: %w", svc.Name, err)
					return
				}
				created.Add(1)
			}
		}()
	}

	// Kill the first controller a third of the way in, once it has given
	// the first Service its IPs (its caches take a moment to sync, during
	// which hundreds of Services may be created), note what it gave, and
	// start the second while creation goes on.
	waitCount := func(k int64) {
		for created.Load() < k {
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitCount(n / 3)
	waitService(t, c, "apps", "svc-0000", "the first controller's first IPs", func(s *corev1.Service) bool {
		return len(s.Status.LoadBalancer.Ingress) > 0
	})
	first.kill()
	before := map[string][]string{}
	var list corev1.ServiceList
	if err := c.List(ctx, &list, client.InNamespace("apps")); err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		if ips := ingressIPs(&s); len(ips) > 0 {
			before[s.Name] = ips
		}
	}
	t.Logf("killed the first controller after %d creations; %d Services had IPs", created.Load(), len(before))
	if len(before) == 0 {
		t.Fatalf("the first controller had given no IP before it was killed: the test proves nothing")
	}
	waitCount(2 * n / 3)
	startChild(t, kubeconfig).supervise(t, kubeconfig)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(8 * time.Minute) // generous: CI machines are shared and -race is slow
	for {
		if err := c.List(ctx, &list, client.InNamespace("apps")); err != nil {
			t.Fatal(err)
		}
		done := 0
		for i := range list.Items {
			if hasIPs(len(list.Items[i].Spec.IPFamilies))(&list.Items[i]) {
				done++
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 8 minutes only %d of %d Services have their IPs", done, n)
		}
		time.Sleep(200 * time.Millisecond)
	}

	owner := map[string]string{}
	for i := range list.Items {
		s := &list.Items[i]
		var idx int
		fmt.Sscanf(s.Name, "svc-%d", &idx)
		ips := ingressIPs(s)
		if len(ips) != families(idx) {
			t.Errorf("%s has %v, want %d IPs", s.Name, ips, families(idx))
		}
		fams := map[bool]int{}
		for _, ip := range ips {
			a := netip.MustParseAddr(ip)
			fams[a.Is4()]++
			if o, dup := owner[ip]; dup {
				t.Errorf("%s is held by %s and %s", ip, o, s.Name)
			}
			owner[ip] = s.Name
		}
		if fams[true] > 1 || fams[false] > 1 {
			t.Errorf("%s has two IPs of one family: %v", s.Name, ips)
		}
		if b, ok := before[s.Name]; ok && fmtIPs(b) != fmtIPs(ips) {
			t.Errorf("%s had %v before the kill and %v after the restart", s.Name, b, ips)
		}
	}
	var p v1beta1.IPAddressPool
	eventually(t, "pool status counts every address once", func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "dual"}, &p); err != nil {
			return err
		}
		if p.Status.AssignedIPv4 != "200" || p.Status.AssignedIPv6 != "1000" {
			return fmt.Errorf("assigned %q v4, %q v6; want 200 and 1000", p.Status.AssignedIPv4, p.Status.AssignedIPv6)
		}
		return nil
	})
	t.Logf("pool status after the restart: assigned %s, available %s", p.Status.Assigned, p.Status.Available)
}
