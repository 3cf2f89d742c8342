package controller

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/testenv"
)

const leaseNS = "herald-system"

// TestLeaderRestartReclaimsLease runs the real `herald controller` against a
// real API server: a leader killed with SIGKILL and started again under the
// same identity (its pod name) must take its Lease back while the Lease its
// first run left is still valid, not wait out its 15 s; a leader stopped
// with SIGTERM must give its Lease up, so that another replica leads at
// once. It prints how long each took (no timing assertion).
func TestLeaderRestartReclaimsLease(t *testing.T) {
	bin := heraldBin(t)
	cfg, c := apitest.Start(t)
	apitest.Namespace(t, c, leaseNS)
	dir := t.TempDir()
	kubeconfig := writeAdminKubeconfig(t, dir, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	first := startController(t, bin, kubeconfig, "herald-controller-abc12")
	held := waitLease(ctx, t, c, "herald-controller-abc12", time.Time{})
	t.Logf("first run leads: lease renewed at %s", held.Spec.RenewTime.Format(time.RFC3339Nano))

	// Let one renewal pass, then kill it as the OOM killer would: it
	// cannot release anything.
	held = waitLease(ctx, t, c, "herald-controller-abc12", held.Spec.RenewTime.Time)
	first.kill(t)
	killedAt := time.Now()
	// The first run may have renewed once more between waitLease and the
	// kill: the restarted run leads once the Lease is renewed after the
	// last renewal the dead one made, read now.
	var left coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: leaseNS, Name: controllers.LeaseName}, &left); err != nil {
		t.Fatal(err)
	}
	held.Spec.RenewTime = left.Spec.RenewTime
	expires := held.Spec.RenewTime.Add(time.Duration(*held.Spec.LeaseDurationSeconds) * time.Second)

	second := startController(t, bin, kubeconfig, "herald-controller-abc12")
	again := waitLease(ctx, t, c, "herald-controller-abc12", held.Spec.RenewTime.Time)
	took := time.Since(killedAt)
	t.Logf("SIGKILL, restart under the same identity: leader again %.2fs after the kill (the lease it left ran until %.2fs after the kill)",
		took.Seconds(), expires.Sub(killedAt).Seconds())
	if !again.Spec.RenewTime.Time.Before(expires) {
		t.Errorf("the restarted controller took its Lease at %s, only once the one its first run left had expired (%s): it waited instead of renewing its own",
			again.Spec.RenewTime.Format(time.RFC3339Nano), expires.Format(time.RFC3339Nano))
	}

	// A clean stop releases the Lease: another replica leads within its
	// first retry.
	second.term(t)
	var l coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: leaseNS, Name: controllers.LeaseName}, &l); err != nil {
		t.Fatal(err)
	}
	if h := l.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("after SIGTERM the Lease is still held by %q; want it released", *h)
	}
	stoppedAt := time.Now()
	startController(t, bin, kubeconfig, "herald-controller-def34")
	waitLease(ctx, t, c, "herald-controller-def34", time.Time{})
	t.Logf("SIGTERM, another replica: leader %.2fs after the stop", time.Since(stoppedAt).Seconds())
}

// heraldBin is $HERALD_BIN (`make test` sets it), else a fresh build.
func heraldBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("HERALD_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "herald")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/herald")
	cmd.Dir = testenv.ModuleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building herald: %v\n%s", err, b)
	}
	return out
}

// writeAdminKubeconfig writes a kubeconfig holding cfg's credentials.
func writeAdminKubeconfig(t *testing.T, dir string, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin"}
	kc.CurrentContext = "test"
	p := filepath.Join(dir, "admin.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// controllerProc is a running `herald controller` and its output.
type controllerProc struct {
	cmd  *exec.Cmd
	done chan error
	mu   sync.Mutex
	out  bytes.Buffer
}

func (p *controllerProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *controllerProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startController(t *testing.T, bin, kubeconfig, identity string) *controllerProc {
	t.Helper()
	p := &controllerProc{done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "controller", "--kubeconfig="+kubeconfig, "--namespace="+leaseNS,
		"--metrics-addr=0", "--health-addr=0", "--memberlist-secret=", "--leader-elect-identity="+identity)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting the controller: %v", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("controller %s log:\n%s", identity, p.log())
		}
	})
	return p
}

func (p *controllerProc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	<-p.done
}

// term sends SIGTERM and waits, at most 30 s, for the process to end.
func (p *controllerProc) term(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("the controller exited after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the controller did not end within 30s of SIGTERM")
	}
}

// waitLease polls the controller's Lease until identity holds it with a
// renew time after after, and returns it.
func waitLease(ctx context.Context, t *testing.T, c client.Client, identity string, after time.Time) coordinationv1.Lease {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var l coordinationv1.Lease
	for {
		err := c.Get(ctx, client.ObjectKey{Namespace: leaseNS, Name: controllers.LeaseName}, &l)
		if err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == identity &&
			l.Spec.RenewTime != nil && l.Spec.RenewTime.Time.After(after) {
			return l
		}
		select {
		case <-ctx.Done():
			holder := "(none)"
			if l.Spec.HolderIdentity != nil {
				holder = *l.Spec.HolderIdentity
			}
			t.Fatalf("waiting for %s to hold Lease %s/%s renewed after %s (holder now %s, last error %v): %v",
				identity, leaseNS, controllers.LeaseName, after.Format(time.RFC3339Nano), holder, err, ctx.Err())
		case <-tick.C:
		}
	}
}
