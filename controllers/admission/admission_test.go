package admission

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/internal/apitest"
)

const ns = "herald-system"

// warnings collects the admission warnings the API server sends back.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := strings.Join(w.msgs, "\n")
	w.msgs = nil
	return s
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// webhookConfig is config/webhook's configuration, pointing at addr
// instead of the Service.
func webhookConfig(addr string) *admissionregistrationv1.ValidatingWebhookConfiguration {
	ignore := admissionregistrationv1.Ignore
	none := admissionregistrationv1.SideEffectClassNone
	url := "https://" + addr + Path
	timeout := int32(10)
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "herald-validating-webhook"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.heraldlb.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url},
			FailurePolicy:           &ignore,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"heraldlb.io"}, APIVersions: []string{"v1beta1"},
					Resources: []string{"ipaddresspools", "bgppeers", "bgpadvertisements", "l2advertisements", "communities", "bfdprofiles"}},
			}},
		}},
	}
}

// startWebhook runs the webhook Server in a manager made as the
// controller's is; stop ends it.
func startWebhook(t *testing.T, cfg *rest.Config, addr string) (stop func()) {
	t.Helper()
	mopts := controllers.ManagerOptions(controllers.Options{Namespace: ns})
	mopts.Metrics = metricsserver.Options{BindAddress: "0"}
	mopts.HealthProbeBindAddress = "0"
	mgr, err := manager.New(cfg, mopts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetClient(), Options{Addr: addr, Namespace: ns,
		SecretName: "herald-webhook-cert", ConfigName: "herald-validating-webhook", Hosts: []string{"127.0.0.1"}, Log: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Add(srv); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting until %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// TestWebhook runs the webhook against a real kube-apiserver, whose
// ValidatingWebhookConfiguration points at it on 127.0.0.1: herald makes
// its certificates into a Secret and patches the caBundle, the API server
// then hands back its warnings (prefixes withdrawn, Services affected,
// missing references), refuses a pool edit stranding a Service's IP unless
// forced, refuses overlapping pools, and admits everything once the
// webhook is down (failurePolicy Ignore).
func TestWebhook(t *testing.T) {
	cfg, c := apitest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	apitest.Namespace(t, c, ns)
	apitest.Namespace(t, c, "web")
	addr := freeAddr(t)
	if err := c.Create(ctx, webhookConfig(addr)); err != nil {
		t.Fatal(err)
	}
	mk := func(o client.Object) {
		t.Helper()
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
	mk(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1", Labels: map[string]string{"bgp": "yes"}}})
	mk(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: ns},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/28"}}})
	mk(&v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: ns},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64500, PeerAddress: "198.51.100.1"}})
	mk(&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: ns},
		Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"prod"}}})
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "frontend", Namespace: "web"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}
	mk(svc)
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	if err := c.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}

	stop := startWebhook(t, cfg, addr)
	var sec corev1.Secret
	eventually(t, ctx, "the certificate Secret exists and the caBundle is patched", func() bool {
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		if c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "herald-webhook-cert"}, &sec) != nil ||
			c.Get(ctx, client.ObjectKey{Name: "herald-validating-webhook"}, &vwc) != nil {
			return false
		}
		return len(sec.Data[SecretCAKey]) > 0 && string(vwc.Webhooks[0].ClientConfig.CABundle) == string(sec.Data[SecretCAKey])
	})
	blk, _ := pem.Decode(sec.Data[SecretCertKey])
	if blk == nil {
		t.Fatal("no serving certificate in the Secret")
	}
	if cert, err := x509.ParseCertificate(blk.Bytes); err != nil || cert.VerifyHostname("127.0.0.1") != nil {
		t.Fatalf("serving certificate %v: want one for 127.0.0.1", err)
	}

	w := &warnings{}
	wcfg := rest.CopyConfig(cfg)
	wcfg.WarningHandler = w
	wc, err := client.New(wcfg, client.Options{Scheme: c.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	update := func(o client.Object, mutate func()) error {
		t.Helper()
		if err := wc.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		mutate()
		return wc.Update(ctx, o)
	}

	t.Run("warnings name the withdrawn prefixes and the Services affected", func(t *testing.T) {
		// The webhook's cache may not have synced on the first call:
		// warnings then lack the impact, so ask until they come.
		adv := &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: ns}}
		var got string
		for i := 0; ; i++ {
			sel := []metav1.LabelSelector{{MatchLabels: map[string]string{"bgp": fmt.Sprintf("no-%d", i)}}}
			if err := update(adv, func() { adv.Spec.NodeSelectors = sel }); err != nil {
				t.Fatal(err)
			}
			if got = w.take(); strings.Contains(got, "withdraws") || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("warnings:\n%s", got)
		for _, want := range []string{"BGPAdvertisement prod: withdraws 192.0.2.1/32", "BGPAdvertisement prod: affects Services web/frontend",
			"changes the frr.conf of nodes node1"} {
			if !strings.Contains(got, want) {
				t.Errorf("warnings:\n%s\nwant %q", got, want)
			}
		}
		if err := update(adv, func() { adv.Spec.NodeSelectors = nil }); err != nil {
			t.Fatal(err)
		}
		w.take()
	})

	t.Run("a reference to a missing object is a warning", func(t *testing.T) {
		err := wc.Create(ctx, &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: ns},
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"nope"}}})
		if err != nil {
			t.Fatalf("creating an L2Advertisement naming a missing pool: %v, want it admitted with a warning", err)
		}
		if got := w.take(); !strings.Contains(got, `IPAddressPool "nope" does not exist`) {
			t.Errorf("warnings:\n%s\nwant one saying pool nope does not exist", got)
		}
	})

	pool := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: ns}}
	t.Run("a pool edit stranding an IP is denied", func(t *testing.T) {
		err := update(pool, func() { pool.Spec.Addresses = []v1beta1.AddressRange{"192.0.2.8/29"} })
		t.Logf("denied: %v", err)
		if err == nil || !strings.Contains(err.Error(), "web/frontend holds 192.0.2.1") || !strings.Contains(err.Error(), `heraldlb.io/force: "true"`) {
			t.Fatalf("shrinking the pool under web/frontend: error %v, want a denial naming web/frontend's 192.0.2.1 and the force annotation", err)
		}
		err = wc.Delete(ctx, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: ns}})
		if err == nil || !strings.Contains(err.Error(), "deleting it takes away addresses") {
			t.Fatalf("deleting the pool under web/frontend: error %v, want a denial", err)
		}
	})

	t.Run("overlapping pools are denied", func(t *testing.T) {
		err := wc.Create(ctx, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.4-192.0.2.20"}}})
		if err == nil || !strings.Contains(err.Error(), "overlap pool prod") {
			t.Fatalf("creating an overlapping pool: error %v, want a denial naming pool prod", err)
		}
	})

	t.Run("force is honoured", func(t *testing.T) {
		err := update(pool, func() {
			pool.Spec.Addresses = []v1beta1.AddressRange{"192.0.2.8/29"}
			pool.Annotations = map[string]string{ForceAnnotation: "true"}
		})
		if err != nil {
			t.Fatalf("forced pool shrink: %v", err)
		}
		got := w.take()
		t.Logf("warnings:\n%s", got)
		for _, want := range []string{"IPAddressPool prod: IPs change: web/frontend 192.0.2.1→192.0.2.8", "withdraws 192.0.2.1/32"} {
			if !strings.Contains(got, want) {
				t.Errorf("warnings:\n%s\nwant %q", got, want)
			}
		}
	})

	t.Run("fails open when the webhook is down", func(t *testing.T) {
		stop()
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.9"}}
		if err := c.Status().Update(ctx, svc); err != nil {
			t.Fatal(err)
		}
		// Would be denied (strands 192.0.2.9) were the webhook up.
		if err := update(pool, func() {
			pool.Spec.Addresses = []v1beta1.AddressRange{"192.0.2.12/30"}
			pool.Annotations = nil
		}); err != nil {
			t.Fatalf("with the webhook down, the edit: %v, want it admitted (failurePolicy Ignore)", err)
		}
		// An overlapping pool gets in while the webhook is down.
		if err := wc.Create(ctx, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: ns},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.14/31"}}}); err != nil {
			t.Fatalf("with the webhook down, an overlapping pool: %v, want it admitted", err)
		}
	})

	t.Run("after a restart, only new overlaps are denied", func(t *testing.T) {
		startWebhook(t, cfg, addr) // the Secret exists: its certificates are reused
		probe := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.12/32"}}}
		eventually(t, ctx, "the restarted webhook denies a new overlapping pool", func() bool {
			err := wc.Create(ctx, probe.DeepCopy())
			if err == nil {
				_ = wc.Delete(ctx, probe.DeepCopy())
			}
			return err != nil && strings.Contains(err.Error(), "overlap")
		})
		legacy := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: ns}}
		no := false
		if err := update(legacy, func() { legacy.Spec.AutoAssign = &no }); err != nil {
			t.Errorf("editing a pool that already overlapped, without adding an overlap: %v, want it admitted", err)
		}
		err := update(legacy, func() { legacy.Spec.Addresses = append(legacy.Spec.Addresses, "192.0.2.13/32") })
		if err == nil || !strings.Contains(err.Error(), "192.0.2.13/32 overlaps 192.0.2.12/30") || strings.Contains(err.Error(), "192.0.2.14/31 overlaps") {
			t.Errorf("adding an overlap to a pool that already overlapped: %v, want a denial naming the new overlap only", err)
		}
		var after corev1.Secret
		if err := c.Get(ctx, client.ObjectKeyFromObject(&sec), &after); err != nil {
			t.Fatal(err)
		}
		if string(after.Data[SecretCertKey]) != string(sec.Data[SecretCertKey]) {
			t.Errorf("the restarted webhook replaced a fresh serving certificate")
		}
	})
}
